using System.Security.Cryptography;

namespace Glance.Api.ImageData;

/// <summary>
/// Reads an upload body once and, on the way through, counts it, enforces the byte limit
/// (stopping as soon as it is exceeded) and computes md5 (Glance's <c>checksum</c>) and
/// sha512 (<c>os_hash_value</c>). The two hashes run in parallel on 1 MiB blocks, so the
/// upload is bound by the slower hash on one core, not by both on the same one.
/// </summary>
public sealed class HashingReadStream(Stream source, long maxBytes) : Stream
{
    private const int BlockSize = 1 << 20;

    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly IncrementalHash _sha512 = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
    private long _total;

    /// <summary>Bytes read so far.</summary>
    public long BytesRead => _total;

    /// <summary>The measurements; call once the stream has been read to its end.</summary>
    public UploadedData Result() => new(
        _total,
        Convert.ToHexStringLower(_md5.GetHashAndReset()),
        Convert.ToHexStringLower(_sha512.GetHashAndReset()));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // Fill up to a block before hashing: Kestrel hands out small pieces, and hashing
        // in parallel pays off per block, not per piece.
        var target = buffer[..Math.Min(buffer.Length, BlockSize)];
        var filled = 0;
        while (filled < target.Length)
        {
            var read = await source.ReadAsync(target[filled..], cancellationToken);
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

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

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
