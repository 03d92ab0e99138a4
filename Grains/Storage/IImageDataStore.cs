namespace Glance.Grains.Storage;

/// <summary>
/// Where image bytes live: a blob per key, written once, read by range, deleted. The HTTP
/// tier streams request bodies straight into it and responses straight out of it; grains
/// only hold keys (bytes never travel in grain messages). Implementations: the local
/// filesystem (embedded default) and Azure Blob Storage.
/// </summary>
public interface IImageDataStore
{
    /// <summary>Short store id, as <c>/v2/info/stores</c> reports it ("file", "azure").</summary>
    string Id { get; }

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="key"/> until it ends. The blob becomes
    /// visible under the key only once complete (atomic rename, or block-list commit); if the copy
    /// fails or is cancelled, nothing is left under the key and partial bytes are removed.
    /// Returns the number of bytes written.
    /// </summary>
    Task<long> WriteAsync(string key, Stream source, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the blob for reading from <paramref name="offset"/>, <paramref name="length"/> bytes
    /// (to the end when null). Throws <see cref="FileNotFoundException"/> when there is no blob.
    /// </summary>
    Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken);

    /// <summary>Deletes the blob if it exists (idempotent).</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>Makes the blob at <paramref name="source"/> available at <paramref name="target"/> too (a staged import).</summary>
    Task CopyAsync(string source, string target, CancellationToken cancellationToken);

    /// <summary>True when a complete blob exists under the key.</summary>
    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken);
}
