using System.Text.Json.Serialization;

namespace Glance.Grains.Images;

/// <summary>
/// What an image grain persists. Serialized as JSON (camelCase) by the grain storage, so
/// renaming a property here is a data migration: add, don't rename.
/// </summary>
public sealed class ImageState
{
    /// <summary>Null until the image is created; ids are never reused, even after delete.</summary>
    public ImageStatus? Status { get; set; }
    public string? Name { get; set; }
    public ImageVisibility Visibility { get; set; } = ImageVisibility.Shared;
    public bool Protected { get; set; }
    public bool OsHidden { get; set; }
    public string? Checksum { get; set; }
    public string? OsHashAlgo { get; set; }
    public string? OsHashValue { get; set; }
    public long? Size { get; set; }
    public long? VirtualSize { get; set; }
    public long MinDisk { get; set; }
    public long MinRam { get; set; }
    public string? ContainerFormat { get; set; }
    public string? DiskFormat { get; set; }
    public string? Owner { get; set; }

    /// <summary>
    /// The owner before the last owner change (null: never changed). An owner change moves the
    /// catalog entry to another shard in two steps; the azure profile's repair finds an entry a
    /// crash left in the former owner's shard through it.
    /// </summary>
    public string? FormerOwner { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public SortedSet<string> Tags { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The additional properties the image shows: the service's own (<c>os_glance_*</c>) and the
    /// projection of its property set. Only the first are stored with the image (see
    /// <see cref="StoredProperties"/>); the image grain reads the set's when it activates.
    /// </summary>
    [JsonIgnore]
    public SortedDictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, MemberState> Members { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Visibility and owner of the restricted (non-public) properties of the projection in <see cref="Properties"/>.</summary>
    [JsonIgnore]
    public SortedDictionary<string, Glance.Grains.Properties.PropertyAccess> PropertyAccess { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// <see cref="Properties"/> as stored: all of them for an image whose properties predate property
    /// sets (<see cref="PropertiesVersion"/> 0), else only the service's, so that an image write does
    /// not rewrite the set's properties (the set stores them a row each). Earlier releases stored the
    /// whole projection here; reading it is harmless, the set's rows replace it on activation.
    /// </summary>
    [JsonPropertyName("properties")]
    public SortedDictionary<string, string> StoredProperties
    {
        get => PropertiesVersion == 0 ? Properties
            : new(Properties.Where(p => p.Key.StartsWith(ImageAttributes.ServicePrefix, StringComparison.Ordinal))
                .ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);
        set => Properties = new(value, StringComparer.Ordinal);
    }

    /// <summary><see cref="PropertyAccess"/> as stored: only for an image whose properties predate property sets (where it is empty).</summary>
    [JsonPropertyName("propertyAccess"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SortedDictionary<string, Glance.Grains.Properties.PropertyAccess>? StoredPropertyAccess
    {
        get => PropertiesVersion == 0 ? PropertyAccess : null;
        set => PropertyAccess = new(value ?? [], StringComparer.Ordinal);
    }

    /// <summary>The version of the image's property set that <see cref="Properties"/> shows (0: none yet).</summary>
    public long PropertiesVersion { get; set; }

    /// <summary>
    /// The property-set change this image write carries. The image is written first (the commit
    /// point of a patch), the set after; a crash between them is finished by sending it again.
    /// </summary>
    public Glance.Grains.Properties.PropertyDelta? PendingProperties { get; set; }

    /// <summary>The image's data is <paramref name="dataKey"/>: active, with the measurements of its bytes.</summary>
    public void AcceptData(string dataKey, UploadedData data, long? virtualSize, DateTimeOffset at)
    {
        Status = ImageStatus.Active;
        DataKey = dataKey;
        DataStoredAt = at;
        Size = data.Size;
        Checksum = data.Md5;
        OsHashAlgo = "sha512";
        OsHashValue = data.Sha512;
        VirtualSize = virtualSize;
    }

    /// <summary>No data after all (an upload or import undone): queued again, sizes forgotten, properties intact, as in Glance.</summary>
    public void BackToQueued()
    {
        Status = ImageStatus.Queued;
        Size = null;
        VirtualSize = null;
    }

    /// <summary>UTF-8 bytes of the metadata that lists show: additional properties (names and values) and tags.</summary>
    public long MetadataBytes() =>
        Properties.Sum(p => (long)System.Text.Encoding.UTF8.GetByteCount(p.Key) + System.Text.Encoding.UTF8.GetByteCount(p.Value))
        + Tags.Sum(t => (long)System.Text.Encoding.UTF8.GetByteCount(t));

    /// <summary>Key of the image's data in the data store, once uploaded.</summary>
    public string? DataKey { get; set; }

    /// <summary>When the data was stored (Last-Modified of the bytes).</summary>
    public DateTimeOffset? DataStoredAt { get; set; }

    /// <summary>Key of staged data awaiting a glance-direct import.</summary>
    public string? StagedKey { get; set; }

    /// <summary>The upload in progress: written before any byte, so a crash can be undone.</summary>
    public PendingUpload? Upload { get; set; }

    /// <summary>md5 of the staged data (shown as <c>checksum</c> only once imported, as in Glance).</summary>
    public string? StagedChecksum { get; set; }

    /// <summary>sha512 of the staged data.</summary>
    public string? StagedHashValue { get; set; }

    /// <summary>The virtual size the staged data's header states (see <see cref="StagedFormat"/>).</summary>
    public long? StagedVirtualSize { get; set; }

    /// <summary>The disk format of the staged data's header, if it has one.</summary>
    public string? StagedFormat { get; set; }

    /// <summary>Why the staged data would be unsafe to use (the inspector's finding), if it is.</summary>
    public string? StagedUnsafe { get; set; }

    /// <summary>The import in progress: written before it starts, so a crash can be undone.</summary>
    public PendingImport? Import { get; set; }

    /// <summary>The image's tasks (imports), oldest first; expired ones are dropped on the next import.</summary>
    public List<TaskState> Tasks { get; set; } = [];

    /// <summary>Incremented on every write; catalog shards keep the newest version they saw.</summary>
    public long Version { get; set; }

    /// <summary>A deep copy, so a patch can be applied to a draft and thrown away on error.</summary>
    public ImageState Clone()
    {
        var copy = (ImageState)MemberwiseClone();
        copy.Tags = new SortedSet<string>(Tags, StringComparer.Ordinal);
        copy.Properties = new SortedDictionary<string, string>(Properties, StringComparer.Ordinal);
        copy.PropertyAccess = new SortedDictionary<string, Glance.Grains.Properties.PropertyAccess>(PropertyAccess, StringComparer.Ordinal);
        copy.Members = new SortedDictionary<string, MemberState>(
            Members.ToDictionary(m => m.Key, m => m.Value with { }), StringComparer.Ordinal);
        copy.Tasks = [.. Tasks];
        return copy;
    }

    /// <summary>The caller-facing view of this state.</summary>
    public ImageRecord ToRecord(Guid id) => new()
    {
        Id = id,
        Name = Name,
        Status = Status ?? ImageStatus.Queued,
        Visibility = Visibility,
        Protected = Protected,
        OsHidden = OsHidden,
        Checksum = Checksum,
        OsHashAlgo = OsHashAlgo,
        OsHashValue = OsHashValue,
        Size = Size,
        VirtualSize = VirtualSize,
        MinDisk = MinDisk,
        MinRam = MinRam,
        ContainerFormat = ContainerFormat,
        DiskFormat = DiskFormat,
        Owner = Owner,
        CreatedAt = CreatedAt,
        UpdatedAt = UpdatedAt,
        Tags = [.. Tags],
        Properties = Properties.ToImmutableSortedDictionary(StringComparer.Ordinal),
        PropertyAccess = PropertyAccess.Count == 0
            ? ImmutableDictionary<string, Glance.Grains.Properties.PropertyAccess>.Empty
            : PropertyAccess.ToImmutableDictionary(StringComparer.Ordinal),
    };
}

/// <summary>An upload that has a ticket but has not completed (a write-ahead marker).</summary>
/// <param name="UploadId">Its ticket.</param>
/// <param name="Target">Image data or staging.</param>
/// <param name="DataKey">Where its bytes go.</param>
/// <param name="StartedAt">When the ticket was given.</param>
/// <param name="DeclaredSize">The size the uploader announced, if it did.</param>
/// <param name="MaxBytes">The most bytes its ticket allowed (null in states written before it was kept): the grain refuses a completion past it.</param>
public sealed record PendingUpload(Guid UploadId, UploadTarget Target, string DataKey, DateTimeOffset StartedAt, long? DeclaredSize = null,
    long? MaxBytes = null);

/// <summary>An import that has been accepted and not finished (a write-ahead marker, like <see cref="PendingUpload"/>).</summary>
/// <param name="TaskId">Its task (also the value of <c>os_glance_import_task</c>).</param>
/// <param name="Method">glance-direct or web-download.</param>
/// <param name="DataKey">Where the imported data is written.</param>
/// <param name="SourceKey">The staged blob it reads (glance-direct).</param>
/// <param name="Staged">Size, hashes and header of the staged blob, measured when it was staged (glance-direct).</param>
/// <param name="Uri">What it downloads (web-download).</param>
/// <param name="MaxBytes">The most bytes it may write (web-download).</param>
/// <param name="StartedAt">When it was accepted.</param>
public sealed record PendingImport(
    Guid TaskId, string Method, string DataKey, string? SourceKey, UploadedData? Staged, string? Uri, long MaxBytes, DateTimeOffset StartedAt);

/// <summary>A task as stored with its image (see <see cref="ImageTask"/>).</summary>
public sealed record TaskState(
    Guid Id, string Type, ImageTaskStatus Status, string InputJson, string? ResultJson, string Message, string? Owner,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt, string? RequestId, string? UserId)
{
    /// <summary>The caller-facing view.</summary>
    public ImageTask ToRecord(Guid imageId) => new()
    {
        Id = Id, Type = Type, Status = Status, InputJson = InputJson, ResultJson = ResultJson, Message = Message,
        Owner = Owner, CreatedAt = CreatedAt, UpdatedAt = UpdatedAt, ExpiresAt = ExpiresAt, ImageId = imageId,
        RequestId = RequestId, UserId = UserId,
    };
}

/// <summary>A member row: kept even when the image stops being shared, as Glance does.</summary>
public sealed record MemberState(MemberStatus Status, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
