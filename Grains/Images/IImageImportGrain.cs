namespace Glance.Grains.Images;

/// <summary>
/// The image grain's calls to itself while an import runs in the background. The data moves
/// on the thread pool; every state change goes through these messages, so it is queued behind
/// (never interleaved with) the requests the grain is serving. Not part of the public grain API.
/// </summary>
[Alias("glance.IImageImportGrain"), Hosting.SiloOnly]
public interface IImageImportGrain : IGrainWithGuidKey
{
    /// <summary>Marks the import's task processing; false when the import no longer belongs to this image's state.</summary>
    [Alias("begin-import-work")]
    Task<bool> BeginImportWorkAsync(Guid taskId);

    /// <summary>
    /// Records the end of an import: <paramref name="data"/> when the bytes are in
    /// <paramref name="dataKey"/>, or the <paramref name="error"/> that stopped it.
    /// </summary>
    [Alias("finish-import")]
    Task FinishImportAsync(Guid taskId, string dataKey, UploadedData? data, string? error);
}
