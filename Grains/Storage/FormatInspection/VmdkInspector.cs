using System.Buffers.Binary;

namespace Glance.Grains.Storage.FormatInspection;

/// <summary>
/// vmdk with a sparse header at 0 (monolithicSparse, streamOptimized): magic "KDMV", the
/// capacity in 512-byte sectors at 12 (little-endian). A bare text descriptor has no data of
/// its own to measure, as for Glance's inspector.
/// </summary>
public sealed class VmdkInspector() : FixedHeaderInspector(0, 20)
{
    public override string Format => "vmdk";

    protected override long? Parse(ReadOnlySpan<byte> header) =>
        header[..4].SequenceEqual("KDMV"u8) && BinaryPrimitives.ReadUInt64LittleEndian(header[12..]) is var sectors && sectors <= long.MaxValue / 512
            ? Positive(sectors * 512)
            : null;
}
