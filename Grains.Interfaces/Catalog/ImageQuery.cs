using Glance.Grains.Images;

namespace Glance.Grains.Catalog;

/// <summary>Which images a list covers, by visibility (the <c>visibility</c> list filter).</summary>
public enum VisibilityScope
{
    /// <summary>No filter: public, own, and shared-with-me (at the member status asked for).</summary>
    Default,
    /// <summary>Public images.</summary>
    Public,
    /// <summary>The caller's private images (every private image for an admin).</summary>
    Private,
    /// <summary>Shared images the caller owns or is a member of.</summary>
    Shared,
    /// <summary>Community images.</summary>
    Community,
    /// <summary>Everything the caller may see.</summary>
    All,
}

/// <summary>Keys a list can be sorted by.</summary>
public enum SortKey
{
    /// <summary>name</summary>
    Name,
    /// <summary>status</summary>
    Status,
    /// <summary>container_format</summary>
    ContainerFormat,
    /// <summary>disk_format</summary>
    DiskFormat,
    /// <summary>size</summary>
    Size,
    /// <summary>id</summary>
    Id,
    /// <summary>created_at</summary>
    CreatedAt,
    /// <summary>updated_at</summary>
    UpdatedAt,
}

/// <summary>One sort criterion.</summary>
[GenerateSerializer, Immutable, Alias("glance.sort")]
public sealed record SortCriterion([property: Id(0)] SortKey Key, [property: Id(1)] bool Descending);

/// <summary>Comparison operators of list filters (<c>in:</c>, <c>gt:</c> ...).</summary>
public enum FilterOp
{
    /// <summary>Equal to the single value.</summary>
    Eq,
    /// <summary>Not equal.</summary>
    Neq,
    /// <summary>Equal to one of the values.</summary>
    In,
    /// <summary>Greater than.</summary>
    Gt,
    /// <summary>Greater than or equal.</summary>
    Gte,
    /// <summary>Less than.</summary>
    Lt,
    /// <summary>Less than or equal.</summary>
    Lte,
}

/// <summary>
/// A filter on a base attribute (name, status, size, created_at, ...) or, for any other
/// name, on an additional property. Values are compared as the attribute's type.
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.filter")]
public sealed record AttributeFilter(
    [property: Id(0)] string Attribute,
    [property: Id(1)] FilterOp Op,
    [property: Id(2)] ImmutableArray<string> Values);

/// <summary>A list request: filters, order and page, as <c>GET /v2/images</c> takes them.</summary>
[GenerateSerializer, Immutable, Alias("glance.image-query")]
public sealed record ImageQuery
{
    /// <summary>Glance's default page size.</summary>
    public const int DefaultLimit = 25;
    /// <summary>Glance's largest page; larger limits are capped silently.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Page size, 0..<see cref="MaxLimit"/>.</summary>
    [Id(0)] public int Limit { get; init; } = DefaultLimit;
    /// <summary>Start after this image (an unknown or invisible marker is a bad request).</summary>
    [Id(1)] public Guid? Marker { get; init; }
    /// <summary>Sort order; created_at and id are appended as tie-breakers (in the direction of a lone criterion, else descending, as Glance does).</summary>
    [Id(2)] public ImmutableArray<SortCriterion> Sort { get; init; } = [];
    /// <summary>Visibility scope.</summary>
    [Id(3)] public VisibilityScope Visibility { get; init; } = VisibilityScope.Default;
    /// <summary>Member status that lists a shared image for a member; null means any.</summary>
    [Id(4)] public MemberStatus? MemberStatus { get; init; } = Images.MemberStatus.Accepted;
    /// <summary>False: hidden images are left out; true: only hidden images.</summary>
    [Id(5)] public bool OsHidden { get; init; }
    /// <summary>Only images carrying every one of these tags.</summary>
    [Id(6)] public ImmutableArray<string> Tags { get; init; } = [];
    /// <summary>Minimum size in bytes, inclusive.</summary>
    [Id(7)] public long? SizeMin { get; init; }
    /// <summary>Maximum size in bytes, inclusive.</summary>
    [Id(8)] public long? SizeMax { get; init; }
    /// <summary>Attribute and property filters, all of which must match.</summary>
    [Id(9)] public ImmutableArray<AttributeFilter> Filters { get; init; } = [];
}
