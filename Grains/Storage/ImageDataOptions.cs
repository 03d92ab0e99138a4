namespace Glance.Grains.Storage;

/// <summary>Where image bytes are stored and how large they may be; bound from <c>Glance:ImageData</c>.</summary>
public sealed class ImageDataOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:ImageData";

    /// <summary>The local filesystem store (embedded default).</summary>
    public const string FileStore = "file";

    /// <summary>Azure Blob Storage (Azurite locally).</summary>
    public const string AzureStore = "azure";

    /// <summary>Which store: <see cref="FileStore"/> or <see cref="AzureStore"/>.</summary>
    public string Store { get; set; } = FileStore;

    /// <summary>Directory of the file store; default <c>{Glance:DataDirectory}/images</c>.</summary>
    public string? Directory { get; set; }

    /// <summary>Azure Storage connection string (<c>UseDevelopmentStorage=true</c> for Azurite on its default ports).</summary>
    public string? AzureConnectionString { get; set; }

    /// <summary>Blob container of the Azure store.</summary>
    public string AzureContainer { get; set; } = "images";

    /// <summary>Largest image in bytes (Glance's <c>image_size_cap</c>, default 1 TiB).</summary>
    public long ImageSizeCap { get; set; } = 1L << 40;

    /// <summary>Most bytes one owner may store in total; 0 means unlimited (Glance's <c>user_storage_quota</c>).</summary>
    public long UserStorageQuota { get; set; }

    /// <summary>
    /// How long an upload (or staging) survives without a lease renewal from the node streaming it
    /// (which renews every third of it): after that the node is taken for dead, the upload is undone
    /// and the image returns to queued, so no image stays in saving forever.
    /// </summary>
    public int UploadLeaseSeconds { get; set; } = 30;

    /// <summary>Why the options cannot be used, or null when they can.</summary>
    public string? Problem() =>
        Store is not (FileStore or AzureStore)
            ? $"Unknown image data store '{Store}' in {Section}:Store (use '{FileStore}' or '{AzureStore}')."
            : ImageSizeCap <= 0 ? $"{Section}:ImageSizeCap must be positive."
            : UploadLeaseSeconds < 3 ? $"{Section}:UploadLeaseSeconds must be at least 3."
            : UserStorageQuota < 0 ? $"{Section}:UserStorageQuota must be 0 (unlimited) or positive."
            : null;
}
