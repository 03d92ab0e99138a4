using System.Security.Cryptography;

namespace Glance.Grains.Storage;

/// <summary>
/// Reads a source once and, on the way through, counts it, enforces a byte limit (failing as
/// soon as it is exceeded), computes md5 (Glance's <c>checksum</c>) and sha512
/// (<c>os_hash_value</c>) and, optionally, gives up when the source stalls. Used by imports,
/// which copy a download into the data store on the thread pool (never on a grain's scheduler).
/// </summary>
public sealed class MeasuringStream(Stream source, long maxBytes, TimeSpan? idleTimeout = null) : Stream
{
    private const int BlockSize = 1 << 20;

    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly IncrementalHash _sha512 = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
    private long _total;

    /// <summary>True when a read gave up because the source sent nothing for the idle timeout.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>The measurements; call once the stream has been read to its end.</summary>
    public UploadedData Result() => new(
        _total,
        Convert.ToHexStringLower(_md5.GetHashAndReset()),
        Convert.ToHexStringLower(_sha512.GetHashAndReset()));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // Fill up to a block before hashing: the two hashes run in parallel per block.
        var target = buffer[..Math.Min(buffer.Length, BlockSize)];
        var filled = 0;
        while (filled < target.Length)
        {
            var read = await ReadSourceAsync(target[filled..], cancellationToken);
            if (read == 0)
            {
                break;
            }
            filled += read;
            if (_total + filled > maxBytes)
            {
                throw GlanceException.TooLarge($"Image exceeds the storage limit of {maxBytes} bytes.");
            }
        }
        if (filled > 0)
        {
            Hash(target[..filled]);
            _total += filled;
        }
        return filled;
    }

    private async ValueTask<int> ReadSourceAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (idleTimeout is not { } idle)
        {
            return await source.ReadAsync(buffer, cancellationToken);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(idle);
        try
        {
            return await source.ReadAsync(buffer, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            TimedOut = true;
            throw new TimeoutException($"No data received for {idle.TotalSeconds:0} seconds.");
        }
    }

    private void Hash(ReadOnlyMemory<byte> block)
    {
        if (block.Length < 64 * 1024)
        {
            _md5.AppendData(block.Span);
            _sha512.AppendData(block.Span);
            return;
        }
        var md5 = Task.Run(() => _md5.AppendData(block.Span));
        _sha512.AppendData(block.Span);
        md5.GetAwaiter().GetResult();
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _total; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _md5.Dispose();
            _sha512.Dispose();
        }
        base.Dispose(disposing);
    }
}
