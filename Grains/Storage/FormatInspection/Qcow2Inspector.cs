using System.Buffers.Binary;

namespace Glance.Grains.Storage.FormatInspection;

/// <summary>qcow2: magic "QFI\xfb" at 0, the virtual size in bytes at 24 (big-endian).</summary>
public sealed class Qcow2Inspector() : FixedHeaderInspector(0, 32)
{
    public override string Format => "qcow2";

    protected override long? Parse(ReadOnlySpan<byte> header) =>
        BinaryPrimitives.ReadUInt32BigEndian(header) == 0x514649fb
            ? Positive(BinaryPrimitives.ReadUInt64BigEndian(header[24..]))
            : null;
}
