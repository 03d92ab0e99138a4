using System.Buffers.Binary;

namespace Glance.Grains.Storage.FormatInspection;

/// <summary>
/// iso (ISO 9660): the primary volume descriptor in sector 16 (offset 32768), type 1 and "CD001";
/// the size is the volume space size (blocks, at 80) times the logical block size (at 128), both
/// stored little- and big-endian, of which the little-endian half is read.
/// </summary>
public sealed class IsoInspector() : FixedHeaderInspector(32768, 132)
{
    public override string Format => "iso";

    protected override long? Parse(ReadOnlySpan<byte> descriptor) =>
        descriptor[0] == 1 && descriptor[1..6].SequenceEqual("CD001"u8)
            ? Positive((ulong)BinaryPrimitives.ReadUInt32LittleEndian(descriptor[80..]) * BinaryPrimitives.ReadUInt16LittleEndian(descriptor[128..]))
            : null;
}
