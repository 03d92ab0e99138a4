namespace Glance.Grains.Storage.FormatInspection;

/// <summary>
/// Every format's inspector over one stream of bytes: it is fed each block as it passes and,
/// at the end, tells which format the header says the image is and its virtual size. All formats
/// are looked for (not only the image's disk_format) because the bytes are measured before some
/// callers know the disk_format for sure, and a later format-safety check needs what the data
/// really is. Once every inspector is done, a block costs one check (vhd's footer keeps the
/// last 512 bytes, until a copy at 0 answered).
/// </summary>
public sealed class FormatSniffer
{
    // The order decides when two headers match at once: the headers at 0 name the container
    // before iso's descriptor at 32 KiB, which may as well lie inside another format's data.
    private readonly IFormatInspector[] _inspectors =
        [new Qcow2Inspector(), new VhdxInspector(), new VmdkInspector(), new VdiInspector(), new VhdInspector(), new IsoInspector()];
    private long _offset;
    private bool _done;

    /// <summary>Hands over the next block of the stream.</summary>
    public void Feed(ReadOnlySpan<byte> block)
    {
        if (!_done)
        {
            var done = true;
            foreach (var inspector in _inspectors)
            {
                if (!inspector.Done)
                {
                    inspector.Feed(_offset, block);
                    done &= inspector.Done;
                }
            }
            _done = done;
        }
        _offset += block.Length;
    }

    /// <summary>
    /// The first format whose header the bytes carry, with the virtual size it states and why that
    /// image is unsafe (null when safe); nulls when no format's header is there.
    /// </summary>
    public (string? Format, long? VirtualSize, string? Unsafe) Result()
    {
        foreach (var inspector in _inspectors)
        {
            if (inspector.VirtualSize(_offset) is { } size)
            {
                return (inspector.Format, size, inspector.Unsafe);
            }
        }
        return (null, null, null);
    }
}
