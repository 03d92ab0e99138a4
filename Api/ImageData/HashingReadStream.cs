using System.Buffers;
using System.Security.Cryptography;

namespace Glance.Api.ImageData;

/// <summary>
/// Reads an upload body once and, on the way through, counts it, enforces the byte limit
/// (stopping as soon as it is exceeded) and computes md5 (Glance's <c>checksum</c>) and
/// sha512 (<c>os_hash_value</c>). The hashes run on two other threads, one block behind the
/// reader: while block k is hashed (md5 and sha512 in parallel), block k+1 is read from the
/// network and block k written to the store, so an upload is bound by the slower hash, not
/// by the sum of everything on one core.
/// </summary>
public sealed class HashingReadStream(Stream source, long maxBytes) : Stream
{
    private const int BlockSize = 1 << 20;

    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly IncrementalHash _sha512 = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
    // Two pooled blocks: one being filled, one being hashed.
    private readonly byte[][] _blocks = [ArrayPool<byte>.Shared.Rent(BlockSize), ArrayPool<byte>.Shared.Rent(BlockSize)];
    private int _next;
    private Task _hashing = Task.CompletedTask;
    private long _total;

    /// <summary>Bytes read so far.</summary>
    public long BytesRead => _total;

    /// <summary>The measurements; call once the stream has been read to its end.</summary>
    public async Task<UploadedData> ResultAsync()
    {
        await _hashing;
        return new UploadedData(
            _total,
            Convert.ToHexStringLower(_md5.GetHashAndReset()),
            Convert.ToHexStringLower(_sha512.GetHashAndReset()));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // Fill a whole block before hashing: Kestrel hands out small pieces, and hashing
        // on other threads pays off per block, not per piece.
        var block = _blocks[_next];
        var target = block.AsMemory(0, Math.Min(buffer.Length, BlockSize));
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
        // The previous block must be hashed before this one (order matters) and before its
        // buffer is filled again (two reads from now).
        await _hashing;
        if (filled > 0)
        {
            var data = target[..filled];
            data.CopyTo(buffer);
            _hashing = HashAsync(data);
            _total += filled;
            _next ^= 1;
        }
        return filled;
    }

    private Task HashAsync(ReadOnlyMemory<byte> block) => Task.WhenAll(
        Task.Run(() => _md5.AppendData(block.Span)),
        Task.Run(() => _sha512.AppendData(block.Span)));

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
            // A failed upload may leave a block being hashed: let it finish before freeing the hashes.
            _hashing.ContinueWith(_ => { }, TaskScheduler.Default).Wait();
            _md5.Dispose();
            ArrayPool<byte>.Shared.Return(_blocks[0]);
            ArrayPool<byte>.Shared.Return(_blocks[1]);
            _sha512.Dispose();
        }
        base.Dispose(disposing);
    }
}
