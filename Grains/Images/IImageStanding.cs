namespace Glance.Grains.Images;

/// <summary>
/// What a grain call filter (the format-inspection and quotas extensions) may ask of an image grain:
/// its owner and status, the upload in flight, and to refuse that upload. Called on the grain
/// instance inside the filter, so in the grain's own turn; not a grain interface, so no caller
/// outside the silo can reach it.
/// </summary>
internal interface IImageStanding
{
    /// <summary>The image's owner and status now (null status: no such image).</summary>
    (string? Owner, ImageStatus? Status) Standing { get; }

    /// <summary>Where the upload <paramref name="uploadId"/> goes and the image's disk_format; null when it is not this image's upload in flight.</summary>
    (UploadTarget Target, string? DiskFormat)? PendingUpload(Guid uploadId);

    /// <summary>Undoes the upload in flight: its bytes deleted, the image back to queued (as a failed upload).</summary>
    Task RefuseUploadAsync(Guid uploadId);
}

/// <summary>
/// A check an extension applies to the data an import brought in, before the image becomes
/// active (imports move their bytes inside the image grain, so no call filter sees them finish).
/// </summary>
public interface IImportedDataCheck
{
    /// <summary>Why <paramref name="data"/> may not become the data of an image of <paramref name="diskFormat"/>; null when it may.</summary>
    string? Problem(string? diskFormat, UploadedData data);
}
