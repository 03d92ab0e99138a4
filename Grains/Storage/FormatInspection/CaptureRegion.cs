namespace Glance.Grains.Storage.FormatInspection;

/// <summary>A span of the image an inspector wants (a header, a table), copied out of the blocks that cover it.</summary>
internal sealed class CaptureRegion(long offset, int length)
{
    private readonly byte[] _bytes = new byte[length];
    private int _filled;

    public long Offset { get; } = offset;

    public int Length => _bytes.Length;

    /// <summary>True once every byte of the region has been seen.</summary>
    public bool Complete => _filled == _bytes.Length;

    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>True once the stream has gone past the region's start without covering it (a short image).</summary>
    public bool Missed(long streamOffset) => !Complete && streamOffset > Offset + _filled;

    /// <summary>Copies the part of the block that falls in the region (blocks come in order).</summary>
    public void Feed(long blockOffset, ReadOnlySpan<byte> block)
    {
        var at = Offset + _filled;
        var end = Offset + _bytes.Length;
        var blockEnd = blockOffset + block.Length;
        if (Complete || blockEnd <= at || blockOffset > at)
        {
            return;
        }
        var count = (int)(Math.Min(end, blockEnd) - at);
        block.Slice((int)(at - blockOffset), count).CopyTo(_bytes.AsSpan(_filled));
        _filled += count;
    }
}

/// <summary>
/// An inspector whose answer lies in one region at a fixed offset: it captures it, then
/// parses it once (a header that does not parse means "not this format").
/// </summary>
public abstract class FixedHeaderInspector : IFormatInspector
{
    private readonly CaptureRegion _header;
    private long? _virtualSize;
    private bool _parsed;

    protected FixedHeaderInspector(long offset, int length) => _header = new CaptureRegion(offset, length);

    public abstract string Format { get; }

    public bool Done { get; private set; }

    public void Feed(long offset, ReadOnlySpan<byte> data)
    {
        if (Done)
        {
            return;
        }
        _header.Feed(offset, data);
        if (_header.Complete)
        {
            _virtualSize = Parse(_header.Bytes);
            _parsed = Done = true;
        }
    }

    public long? VirtualSize(long totalSize) => _parsed ? _virtualSize : null;

    /// <summary>The virtual size the header states, or null when it is not this format's header.</summary>
    protected abstract long? Parse(ReadOnlySpan<byte> header);

    /// <summary>A size read from a header as unsigned, kept only when it fits a long and is not zero.</summary>
    protected static long? Positive(ulong size) => size is > 0 and <= long.MaxValue ? (long)size : null;
}
