using System.Buffers;
using System.Security.Cryptography;

namespace Glance.Grains.Storage;

/// <summary>
/// Reads an upload body once and, on the way through, counts it, enforces the byte limit
/// (stopping as soon as it is exceeded) and computes md5 (Glance's <c>checksum</c>) and
/// sha512 (<c>os_hash_value</c>). The hashes run on two other threads, behind the reader:
/// while block k is hashed (md5 and sha512 in parallel), the reader may fill up to
/// <see cref="Ring"/> - 1 more blocks from the network and the store write them, so an upload
/// is bound by the slower hash, not by the sum of everything on one core. Used for every
/// byte that enters the service: uploads, staging (the Api) and web-download imports (the
/// image grain, which also gives up when the source stalls for <paramref name="idleTimeout"/>).
/// </summary>
public sealed class HashingReadStream(Stream source, long maxBytes, TimeSpan? idleTimeout = null) : Stream
{
    private const int BlockSize = 1 << 20;

    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly IncrementalHash _sha512 = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
    private const int Ring = 4;

    // Pooled blocks, rented when first needed (a small image needs one or two) and reused
    // in turn once their hash is done.
    private readonly byte[]?[] _blocks = new byte[Ring][];
    private readonly Task[] _hashed = [.. Enumerable.Repeat(Task.CompletedTask, Ring)];
    private int _next;
    private Task _hashing = Task.CompletedTask;
    private long _total;

    /// <summary>Bytes read so far.</summary>
    public long BytesRead => _total;

    /// <summary>True when a read gave up because the source sent nothing for the idle timeout.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>The measurements; call once the stream has been read to its end.</summary>
    public async Task<UploadedData> ResultAsync()
    {
        await _hashing;
        return new UploadedData(
            _total,
            Convert.ToHexStringLower(_md5.GetHashAndReset()),
            Convert.ToHexStringLower(_sha512.GetHashAndReset()));
    }

    /// <summary>
    /// The store's copy loop, done here without the extra copy into the caller's buffer: each
    /// block is hashed and written straight from the ring, the write of block k overlapping the
    /// reading of block k+1.
    /// </summary>
    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        var writing = Task.CompletedTask;
        var written = new Task[Ring];
        Array.Fill(written, Task.CompletedTask);
        try
        {
            while (true)
            {
                await written[_next]; // the block's last contents reached the destination
                var block = await FillAsync(BlockSize, cancellationToken);
                if (block.IsEmpty)
                {
                    break;
                }
                writing = written[(_next + Ring - 1) % Ring] = WriteAfterAsync(writing, destination, block, cancellationToken);
            }
            await writing;
        }
        catch
        {
            // No write may still be reading a block once the blocks go back to the pool.
            await Task.WhenAll(written).ContinueWith(_ => { }, TaskScheduler.Default);
            throw;
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var block = await FillAsync(Math.Min(buffer.Length, BlockSize), cancellationToken);
        block.CopyTo(buffer);
        return block.Length;
    }

    private static async Task WriteAfterAsync(Task previous, Stream destination, ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
    {
        await previous;
        await destination.WriteAsync(block, cancellationToken);
    }

    /// <summary>Reads the next block (up to <paramref name="size"/> bytes) into the ring and starts hashing it.</summary>
    private async ValueTask<ReadOnlyMemory<byte>> FillAsync(int size, CancellationToken cancellationToken)
    {
        // Fill a whole block before hashing: Kestrel hands out small pieces, and hashing
        // on other threads pays off per block, not per piece.
        await _hashed[_next]; // this block's previous contents are hashed: it may be reused
        var block = _blocks[_next] ??= ArrayPool<byte>.Shared.Rent(BlockSize);
        var target = block.AsMemory(0, size);
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
        var data = target[..filled];
        if (filled > 0)
        {
            _hashing = _hashed[_next] = HashAfterAsync(_hashing, data);
            _total += filled;
            _next = (_next + 1) % Ring;
        }
        return data;
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

    // Blocks are hashed in order: each waits for the one before it.
    private async Task HashAfterAsync(Task previous, ReadOnlyMemory<byte> block)
    {
        await previous;
        await Task.WhenAll(
            Task.Run(() => _md5.AppendData(block.Span)),
            Task.Run(() => _sha512.AppendData(block.Span)));
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
            // A failed upload may leave a block being hashed: let it finish before freeing the hashes.
            _hashing.ContinueWith(_ => { }, TaskScheduler.Default).Wait();
            _md5.Dispose();
            foreach (var block in _blocks.OfType<byte[]>())
            {
                ArrayPool<byte>.Shared.Return(block);
            }
            _sha512.Dispose();
        }
        base.Dispose(disposing);
    }
}
