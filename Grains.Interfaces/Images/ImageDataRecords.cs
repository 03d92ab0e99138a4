namespace Glance.Grains.Images;

/// <summary>Where the bytes of an upload go.</summary>
public enum UploadTarget
{
    /// <summary><c>PUT /file</c>: the image's data; the image becomes active.</summary>
    File,
    /// <summary><c>PUT /stage</c>: staged data for a later glance-direct import.</summary>
    Stage,
}

/// <summary>
/// Permission to stream one upload: the data key to write to and the most bytes allowed
/// (the size cap or the owner's remaining quota, whichever is smaller). The grain records the
/// ticket before any byte is written, so an interrupted upload can always be found and undone.
/// The upload holds a lease that the streaming node renews every <see cref="RenewEvery"/>
/// (<see cref="IImageGrain.RenewUploadAsync"/>); zero means no renewal is needed.
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.upload-ticket")]
public sealed record UploadTicket(
    [property: Id(0)] Guid UploadId,
    [property: Id(1)] string DataKey,
    [property: Id(2)] long MaxBytes,
    [property: Id(3)] TimeSpan RenewEvery = default);

/// <summary>What the streaming tier measured while writing an upload.</summary>
/// <param name="Size">Bytes written.</param>
/// <param name="Md5">md5 (Glance's <c>checksum</c>), hex.</param>
/// <param name="Sha512">sha512 (<c>os_hash_value</c>), hex.</param>
/// <param name="VirtualSize">The virtual disk size the data's header states, if it has a known format's header.</param>
/// <param name="Format">The disk format of that header (qcow2, vmdk, vhd, vhdx, vdi, iso); null for none.</param>
/// <param name="Unsafe">Why the data would make a hypervisor open other files (a qcow2 backing file, a vmdk
/// extent elsewhere), as the format inspector found it; null when safe. The format-inspection extension refuses it.</param>
[GenerateSerializer, Immutable, Alias("glance.uploaded-data")]
public sealed record UploadedData(
    [property: Id(0)] long Size,
    [property: Id(1)] string Md5,
    [property: Id(2)] string Sha512,
    [property: Id(3)] long? VirtualSize = null,
    [property: Id(4)] string? Format = null,
    [property: Id(5)] string? Unsafe = null);

/// <summary>Everything needed to serve an image's bytes, after the grain allowed the caller to read them.</summary>
[GenerateSerializer, Immutable, Alias("glance.image-data")]
public sealed record ImageData(
    [property: Id(0)] string DataKey,
    [property: Id(1)] long Size,
    [property: Id(2)] string? Checksum,
    [property: Id(3)] string? OsHashValue,
    [property: Id(4)] DateTimeOffset StoredAt,
    [property: Id(5)] bool IsPublic);
