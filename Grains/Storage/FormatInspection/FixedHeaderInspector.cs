namespace Glance.Grains.Storage.FormatInspection;

/// <summary>
/// An inspector whose answer lies in one region at a fixed offset: it captures it, then
/// parses it once (a header that does not parse means "not this format").
/// </summary>
public abstract class FixedHeaderInspector : IFormatInspector
{
    private readonly CaptureRegion _header;
    private long? _virtualSize;
    private string? _unsafe;
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
            _unsafe = _virtualSize is null ? null : Unsafe(_header.Bytes);
            _parsed = Done = true;
        }
    }

    public long? VirtualSize(long totalSize) => _parsed ? _virtualSize : null;

    string? IFormatInspector.Unsafe => _unsafe;

    /// <summary>The virtual size the header states, or null when it is not this format's header.</summary>
    protected abstract long? Parse(ReadOnlySpan<byte> header);

    /// <summary>Why a header that parsed describes an unsafe image; null when it is safe.</summary>
    protected virtual string? Unsafe(ReadOnlySpan<byte> header) => null;

    /// <summary>A size read from a header as unsigned, kept only when it fits a long and is not zero.</summary>
    protected static long? Positive(ulong size) => size is > 0 and <= long.MaxValue ? (long)size : null;
}
