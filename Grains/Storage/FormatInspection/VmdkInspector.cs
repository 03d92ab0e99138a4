using System.Buffers.Binary;

namespace Glance.Grains.Storage.FormatInspection;

/// <summary>
/// vmdk with a sparse header at 0 (monolithicSparse, streamOptimized): magic "KDMV", the
/// capacity in 512-byte sectors at 12 (little-endian). A bare text descriptor (its data in
/// other files) has no such header, so no virtual size.
/// </summary>
public sealed class VmdkInspector() : FixedHeaderInspector(0, 20)
{
    public override string Format => "vmdk";

    protected override long? Parse(ReadOnlySpan<byte> header) =>
        header[..4].SequenceEqual("KDMV"u8) && BinaryPrimitives.ReadUInt64LittleEndian(header[12..]) is var sectors && sectors <= long.MaxValue / 512
            ? Positive(sectors * 512)
            : null;
}
