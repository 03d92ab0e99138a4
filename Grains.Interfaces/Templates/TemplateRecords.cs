using Glance.Grains.Images;

namespace Glance.Grains.Templates;

/// <summary>What a create carries: the template's attributes and its first version, as JSON.</summary>
[GenerateSerializer, Immutable, Alias("glance.template-draft")]
public sealed record TemplateDraft(
    [property: Id(0)] string? Name,
    [property: Id(1)] string? Description,
    [property: Id(2)] ImageVisibility Visibility,
    [property: Id(3)] ImmutableArray<string> Tags,
    [property: Id(4)] bool Protected,
    [property: Id(5)] string VersionJson);

/// <summary>A template's attributes (what lists show).</summary>
[GenerateSerializer, Immutable, Alias("glance.template")]
public sealed record TemplateRecord
{
    /// <summary>The template id.</summary>
    [Id(0)] public Guid Id { get; init; }
    /// <summary>Its name.</summary>
    [Id(1)] public string Name { get; init; } = "";
    /// <summary>Free text.</summary>
    [Id(2)] public string? Description { get; init; }
    /// <summary>Who may see it (the image rules).</summary>
    [Id(3)] public ImageVisibility Visibility { get; init; }
    /// <summary>Its tags.</summary>
    [Id(4)] public ImmutableArray<string> Tags { get; init; } = [];
    /// <summary>The owning project.</summary>
    [Id(5)] public string? Owner { get; init; }
    /// <summary>Refuses delete while true.</summary>
    [Id(6)] public bool Protected { get; init; }
    /// <summary>The version <c>$default</c> names.</summary>
    [Id(7)] public int DefaultVersion { get; init; }
    /// <summary>The highest existing version.</summary>
    [Id(8)] public int LatestVersion { get; init; }
    /// <summary>Creation time.</summary>
    [Id(9)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>Last change.</summary>
    [Id(10)] public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>The images its versions name by id (for the <c>image_id</c> filter).</summary>
    /// <summary>ImageIds</summary>
    [Id(11)] public ImmutableArray<Guid> ImageIds { get; init; } = [];
}

/// <summary>A template with its default version inlined (what show, create and patch answer).</summary>
[GenerateSerializer, Immutable, Alias("glance.template-view")]
public sealed record TemplateView(
    [property: Id(0)] TemplateRecord Template,
    [property: Id(1)] TemplateVersion DefaultVersion);

/// <summary>One immutable version: its number and the version object as stored (canonical JSON).</summary>
[GenerateSerializer, Immutable, Alias("glance.template-version")]
public sealed record TemplateVersion(
    [property: Id(0)] int Number,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] int? BasedOn,
    [property: Id(3)] string Json);

/// <summary>What a render reads from the template grain.</summary>
[GenerateSerializer, Immutable, Alias("glance.template-source")]
public sealed record TemplateSource(
    [property: Id(0)] Guid TemplateId,
    [property: Id(1)] string Name,
    [property: Id(2)] TemplateVersion Version);

/// <summary>A project a template is shared with.</summary>
[GenerateSerializer, Immutable, Alias("glance.template-member")]
public sealed record TemplateMember(
    [property: Id(0)] Guid TemplateId,
    [property: Id(1)] string MemberId,
    [property: Id(2)] MemberStatus Status,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset UpdatedAt);

/// <summary>A render request: which version (a number, <c>$default</c>, <c>$latest</c>) and the parameters (a JSON object).</summary>
[GenerateSerializer, Immutable, Alias("glance.render-request")]
public sealed record RenderRequest(
    [property: Id(0)] string Version,
    [property: Id(1)] string ParametersJson);

/// <summary>What a render answers. Outputs never show hidden parameters.</summary>
[GenerateSerializer, Immutable, Alias("glance.render-result")]
public sealed record RenderResult(
    [property: Id(0)] Guid TemplateId,
    [property: Id(1)] int Version,
    [property: Id(2)] Guid ImageId,
    [property: Id(3)] string UserData,
    [property: Id(4)] ImmutableSortedDictionary<string, string> Outputs,
    [property: Id(5)] long MinRam,
    [property: Id(6)] long MinDisk,
    [property: Id(7)] string? Architecture,
    [property: Id(8)] ImmutableSortedDictionary<string, string> Properties);

/// <summary>Keys a template list can be sorted by.</summary>
public enum TemplateSortKey
{
    /// <summary>created_at</summary>
    CreatedAt,
    /// <summary>updated_at</summary>
    UpdatedAt,
    /// <summary>name</summary>
    Name,
    /// <summary>id</summary>
    Id,
}

/// <summary>A template list request (<c>GET /v2/templates</c>).</summary>
[GenerateSerializer, Immutable, Alias("glance.template-query")]
public sealed record TemplateQuery
{
    /// <summary>Default page size (as images).</summary>
    public const int DefaultLimit = 25;
    /// <summary>Largest page.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Page size.</summary>
    [Id(0)] public int Limit { get; init; } = DefaultLimit;
    /// <summary>List after this template.</summary>
    [Id(1)] public Guid? Marker { get; init; }
    /// <summary>Sort key.</summary>
    [Id(2)] public TemplateSortKey SortKey { get; init; } = TemplateSortKey.CreatedAt;
    /// <summary>Sort direction.</summary>
    [Id(3)] public bool Descending { get; init; } = true;
    /// <summary>Which visibility the list covers.</summary>
    [Id(4)] public Catalog.VisibilityScope Visibility { get; init; } = Catalog.VisibilityScope.Default;
    /// <summary>Shared templates at this member status (null: any).</summary>
    [Id(5)] public MemberStatus? MemberStatus { get; init; } = Images.MemberStatus.Accepted;
    /// <summary>Exact name filter.</summary>
    [Id(6)] public string? Name { get; init; }
    /// <summary>Tags that must all be present.</summary>
    [Id(7)] public ImmutableArray<string> Tags { get; init; } = [];
    /// <summary>Templates naming this image by id.</summary>
    [Id(8)] public Guid? ImageId { get; init; }
    /// <summary>Owner filter.</summary>
    [Id(9)] public string? Owner { get; init; }
}
