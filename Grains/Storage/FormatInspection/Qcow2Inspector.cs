using System.Buffers.Binary;

namespace Glance.Grains.Storage.FormatInspection;

/// <summary>
/// qcow2: magic "QFI\xfb" at 0, the version at 4, the backing file's offset at 8, the virtual
/// size in bytes at 24 (big-endian), and for version 3 the incompatible features at 72. Unsafe,
/// as in Glance's inspector (CVE-2022-47951 class): a backing file or an external data file
/// (either makes the hypervisor open a file the image names), an unknown incompatible feature,
/// a version other than 2 or 3.
/// </summary>
public sealed class Qcow2Inspector() : FixedHeaderInspector(0, 104)
{
    // dirty, corrupt, external data file, compression type, extended L2 entries.
    private const ulong KnownIncompatibleFeatures = 0x1F;
    private const ulong ExternalDataFile = 0x4;

    public override string Format => "qcow2";

    protected override long? Parse(ReadOnlySpan<byte> header) =>
        BinaryPrimitives.ReadUInt32BigEndian(header) == 0x514649fb
            ? Positive(BinaryPrimitives.ReadUInt64BigEndian(header[24..]))
            : null;

    protected override string? Unsafe(ReadOnlySpan<byte> header)
    {
        var version = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        if (version is not (2 or 3))
        {
            return $"qcow2 version {version} is not supported";
        }
        if (BinaryPrimitives.ReadUInt64BigEndian(header[8..]) != 0)
        {
            return "the qcow2 image has a backing file";
        }
        if (version == 3)
        {
            var features = BinaryPrimitives.ReadUInt64BigEndian(header[72..]);
            if ((features & ExternalDataFile) != 0)
            {
                return "the qcow2 image has an external data file";
            }
            if ((features & ~KnownIncompatibleFeatures) != 0)
            {
                return "the qcow2 image has unknown incompatible features";
            }
        }
        return null;
    }
}
