namespace Glance.Grains.Storage.FormatInspection;

/// <summary>
/// Reads one disk format's header from an image's bytes as they stream past, once, in order
/// (Glance's format inspector, streaming). An inspector keeps only the few regions it needs, so
/// memory stays small whatever the image's size, and says when it needs no more bytes, so a
/// long upload pays nothing per later block.
/// </summary>
public interface IFormatInspector
{
    /// <summary>The <c>disk_format</c> it recognises (qcow2, vmdk, vhd, vhdx, vdi, iso).</summary>
    string Format { get; }

    /// <summary>True once no later byte can change the answer (found, or not this format).</summary>
    bool Done { get; }

    /// <summary>Hands over the bytes at <paramref name="offset"/>; blocks come in order, of any size.</summary>
    void Feed(long offset, ReadOnlySpan<byte> data);

    /// <summary>
    /// The virtual disk size the header states once all <paramref name="totalSize"/> bytes have been
    /// fed; null when the bytes are not this format or its header is unreadable.
    /// </summary>
    long? VirtualSize(long totalSize);

    /// <summary>
    /// Why the image would be unsafe to hand to a hypervisor (it names other files: a backing
    /// file, an external data file, extents elsewhere), once the format was recognised; null when
    /// it is safe or not this format. The format-inspection extension refuses such images.
    /// </summary>
    string? Unsafe => null;
}
