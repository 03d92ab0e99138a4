using System.Buffers.Binary;

namespace Glance.Grains.Storage.FormatInspection;

/// <summary>
/// vhd (qemu's vpc): a 512-byte footer, cookie "conectix", the current size in bytes at 48
/// (big-endian). Every vhd ends with the footer; a dynamic one also has a copy at 0, which is
/// read first. Otherwise the inspector keeps the last 512 bytes seen, so it is never done until
/// the end: that costs a 512-byte copy per block.
/// </summary>
public sealed class VhdInspector : IFormatInspector
{
    private const int FooterSize = 512;
    private readonly byte[] _tail = new byte[FooterSize];
    private int _tailLength;
    private readonly CaptureRegion _header = new(0, FooterSize);
    private long? _fromHeader;

    public string Format => "vhd";

    public bool Done => _fromHeader is not null;

    public void Feed(long offset, ReadOnlySpan<byte> data)
    {
        if (Done)
        {
            return;
        }
        if (!_header.Complete)
        {
            _header.Feed(offset, data);
            if (_header.Complete && (_fromHeader = Parse(_header.Bytes)) is not null)
            {
                return;
            }
        }
        // The tail: the last 512 bytes of what came so far.
        if (data.Length >= FooterSize)
        {
            data[^FooterSize..].CopyTo(_tail);
            _tailLength = FooterSize;
        }
        else
        {
            var keep = Math.Min(_tailLength, FooterSize - data.Length);
            _tail.AsSpan(_tailLength - keep, keep).CopyTo(_tail);
            data.CopyTo(_tail.AsSpan(keep));
            _tailLength = keep + data.Length;
        }
    }

    public long? VirtualSize(long totalSize) =>
        _fromHeader ?? (_tailLength == FooterSize && totalSize >= FooterSize ? Parse(_tail) : null);

    private static long? Parse(ReadOnlySpan<byte> footer) =>
        footer[..8].SequenceEqual("conectix"u8) && BinaryPrimitives.ReadUInt64BigEndian(footer[48..]) is var size and > 0 and <= long.MaxValue
            ? (long)size
            : null;
}
