using System.Buffers.Binary;

namespace Glance.Grains.Storage.FormatInspection;

/// <summary>vdi (VirtualBox): signature 0xbeda107f at 64, the disk size in bytes at 368 (little-endian).</summary>
public sealed class VdiInspector() : FixedHeaderInspector(0, 376)
{
    public override string Format => "vdi";

    protected override long? Parse(ReadOnlySpan<byte> header) =>
        BinaryPrimitives.ReadUInt32LittleEndian(header[64..]) == 0xbeda107f
            ? Positive(BinaryPrimitives.ReadUInt64LittleEndian(header[368..]))
            : null;
}
