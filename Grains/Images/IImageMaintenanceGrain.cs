namespace Glance.Grains.Images;

/// <summary>
/// The image grain's maintenance verbs: called only by the service's own recoveries, never by
/// clients. Kept out of <see cref="IImageGrain"/> so that <c>Grains.Interfaces</c> holds only the
/// public contract, and a grain call filter can tell that contract from the plumbing.
/// </summary>
[Alias("glance.IImageMaintenanceGrain"), Hosting.SiloOnly]
public interface IImageMaintenanceGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Recovery: undoes an upload or an import that a crash interrupted (deleting whatever bytes it
    /// wrote; an import leaves the image queued with <c>os_glance_failed_import</c> set) and deletes
    /// the bytes of a deleted image if a crash kept them. Idempotent.
    /// </summary>
    [Alias("recover-data")]
    Task RecoverDataAsync();

    /// <summary>
    /// Re-sends this image's entry to its catalog shard. Used by recovery after a crash between
    /// the image write and the catalog update; idempotent.
    /// </summary>
    [Alias("publish-to-catalog")]
    Task PublishToCatalogAsync();

    /// <summary>
    /// The cluster's repair (azure profile), safe while other nodes serve: the activation itself
    /// rolls back an import cut short and gives an upload in flight its lease (undone if no node
    /// renews it); a deleted image with no upload in flight loses its bytes; the catalog entry is
    /// re-sent. Idempotent.
    /// </summary>
    [Alias("repair")]
    Task RepairAsync();

    /// <summary>
    /// The cluster's orphan sweep (azure profile): deletes the bytes under <paramref name="key"/>, one
    /// of this image's own keys (<c>{image id}-{upload or task id}</c>), unless the image holds them
    /// (its data, its staged data, an upload in flight or an import). Bytes an upload committed after
    /// its lease had run out, whose completion never reached the cluster, are held by nothing. Returns
    /// true when it deleted them. Idempotent.
    /// </summary>
    [Alias("remove-unheld-data")]
    Task<bool> RemoveUnheldDataAsync(string key);
}
