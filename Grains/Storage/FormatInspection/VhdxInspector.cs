using System.Buffers.Binary;

namespace Glance.Grains.Storage.FormatInspection;

/// <summary>
/// vhdx: "vhdxfile" at 0; the region table at 192 KiB names the metadata region, whose table
/// (64 KiB at its start) names the Virtual Disk Size item (8 bytes, little-endian). Found in
/// three steps as the bytes pass, each keeping only the region it needs; a metadata region
/// further than <see cref="Window"/> into the image is not looked for.
/// </summary>
public sealed class VhdxInspector : IFormatInspector
{
    /// <summary>How far into the image the inspector looks (qemu-img puts the metadata at 3 MiB).</summary>
    public const long Window = 32L << 20;

    private const long RegionTableOffset = 192 << 10;
    private const int TableSize = 64 << 10;
    private static readonly Guid s_metadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    private static readonly Guid s_virtualDiskSize = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");

    private readonly CaptureRegion _signature = new(0, 8);
    private CaptureRegion? _regionTable;
    private CaptureRegion? _metadataTable;
    private CaptureRegion? _sizeItem;
    private long? _virtualSize;

    public string Format => "vhdx";

    public bool Done { get; private set; }

    public void Feed(long offset, ReadOnlySpan<byte> data)
    {
        while (!Done)
        {
            var step = _sizeItem ?? _metadataTable ?? _regionTable ?? _signature;
            step.Feed(offset, data);
            if (!step.Complete)
            {
                // A region the stream has gone past (before the previous one, or a short image) never comes.
                Done = step.Missed(offset + data.Length);
                return;
            }
            Next(step);
        }
    }

    public long? VirtualSize(long totalSize) => _virtualSize;

    /// <summary>Parses a completed step and sets up the next one (or ends).</summary>
    private void Next(CaptureRegion step)
    {
        var bytes = step.Bytes;
        if (step == _signature)
        {
            if (bytes.SequenceEqual("vhdxfile"u8))
            {
                _regionTable = new CaptureRegion(RegionTableOffset, TableSize);
                return;
            }
        }
        else if (step == _regionTable)
        {
            var entry = Find(bytes, "regi"u8, headerSize: 16, countAt: 8, entrySize: 32, s_metadataRegion);
            if (!entry.IsEmpty
                && BinaryPrimitives.ReadInt64LittleEndian(entry[16..]) is var start and >= RegionTableOffset + TableSize
                && start <= Window - TableSize)
            {
                _metadataTable = new CaptureRegion(start, TableSize);
                return;
            }
        }
        else if (step == _metadataTable)
        {
            var entry = Find(bytes, "metadata"u8, headerSize: 32, countAt: 10, entrySize: 32, s_virtualDiskSize);
            if (!entry.IsEmpty
                && BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]) is var itemOffset and >= TableSize
                && BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]) == 8
                && step.Offset + itemOffset <= Window - 8)
            {
                _sizeItem = new CaptureRegion(step.Offset + itemOffset, 8);
                return;
            }
        }
        else
        {
            var size = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            _virtualSize = size is > 0 and <= long.MaxValue ? (long)size : null;
        }
        Done = true;
    }

    /// <summary>The entry with <paramref name="id"/> of a vhdx table (region or metadata), when the table's signature is right.</summary>
    private static ReadOnlySpan<byte> Find(ReadOnlySpan<byte> table, ReadOnlySpan<byte> signature, int headerSize, int countAt, int entrySize, Guid id)
    {
        if (!table.StartsWith(signature))
        {
            return default;
        }
        int count = countAt == 8 ? (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(table[8..]), int.MaxValue) : BinaryPrimitives.ReadUInt16LittleEndian(table[10..]);
        for (var i = 0; i < count && headerSize + (i + 1) * entrySize <= table.Length; i++)
        {
            var entry = table.Slice(headerSize + i * entrySize, entrySize);
            if (new Guid(entry[..16]) == id)
            {
                return entry;
            }
        }
        return default;
    }
}
