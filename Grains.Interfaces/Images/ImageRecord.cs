namespace Glance.Grains.Images;

/// <summary>
/// An image as a caller sees it: the base attributes of the Images API v2 plus its
/// additional (string) properties. Immutable, so grains hand it out without copying.
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.image")]
public sealed record ImageRecord
{
    /// <summary>The image id (also the image grain's key).</summary>
    [Id(0)] public required Guid Id { get; init; }
    /// <summary>Display name; not unique.</summary>
    [Id(1)] public string? Name { get; init; }
    /// <summary>Lifecycle status.</summary>
    [Id(2)] public required ImageStatus Status { get; init; }
    /// <summary>Who may see it.</summary>
    [Id(3)] public required ImageVisibility Visibility { get; init; }
    /// <summary>A protected image cannot be deleted.</summary>
    [Id(4)] public bool Protected { get; init; }
    /// <summary>Hidden images are left out of default lists.</summary>
    [Id(5)] public bool OsHidden { get; init; }
    /// <summary>MD5 of the data, hex.</summary>
    [Id(6)] public string? Checksum { get; init; }
    /// <summary>Name of the multihash algorithm (sha512).</summary>
    [Id(7)] public string? OsHashAlgo { get; init; }
    /// <summary>Multihash of the data, hex.</summary>
    [Id(8)] public string? OsHashValue { get; init; }
    /// <summary>Size of the data in bytes.</summary>
    [Id(9)] public long? Size { get; init; }
    /// <summary>Virtual disk size in bytes.</summary>
    [Id(10)] public long? VirtualSize { get; init; }
    /// <summary>Minimum disk in GB to boot it.</summary>
    [Id(11)] public long MinDisk { get; init; }
    /// <summary>Minimum RAM in MB to boot it.</summary>
    [Id(12)] public long MinRam { get; init; }
    /// <summary>Container format (bare, ovf, ...).</summary>
    [Id(13)] public string? ContainerFormat { get; init; }
    /// <summary>Disk format (raw, qcow2, ...).</summary>
    [Id(14)] public string? DiskFormat { get; init; }
    /// <summary>The owning project.</summary>
    [Id(15)] public string? Owner { get; init; }
    /// <summary>Creation time (UTC, whole seconds as Glance keeps them).</summary>
    [Id(16)] public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>Last change (UTC, whole seconds).</summary>
    [Id(17)] public required DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Tags, a set, in sorted order.</summary>
    [Id(18)] public ImmutableArray<string> Tags { get; init; } = [];
    /// <summary>Additional properties; values are strings as in the v2 API.</summary>
    [Id(19)] public ImmutableSortedDictionary<string, string> Properties { get; init; } =
        ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
    /// <summary>
    /// Who may see each restricted additional property (the rule is in the grains' <c>ImageAccess.CanSeeProperty</c>);
    /// a property not listed here is public. Empty for most images.
    /// </summary>
    [Id(20)] public ImmutableDictionary<string, Glance.Grains.Properties.PropertyAccess> PropertyAccess { get; init; } =
        ImmutableDictionary<string, Glance.Grains.Properties.PropertyAccess>.Empty;
}

/// <summary>A project an image is shared with, and its answer.</summary>
[GenerateSerializer, Immutable, Alias("glance.image-member")]
public sealed record ImageMember(
    [property: Id(0)] Guid ImageId,
    [property: Id(1)] string MemberId,
    [property: Id(2)] MemberStatus Status,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset UpdatedAt);
