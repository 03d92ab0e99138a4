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
