using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;
using Glance.Grains.Storage.FormatInspection;
using Glance.Grains.Telemetry;

namespace Glance.Grains.Storage;

/// <summary>
/// Reads an upload body once and, on the way through, counts it, enforces the byte limit
/// (stopping as soon as it is exceeded) and computes md5 (Glance's <c>checksum</c>) and
/// sha512 (<c>os_hash_value</c>), and reads the disk format's header for the virtual size
/// (<see cref="FormatSniffer"/>, on the reading thread: it looks at the first blocks only).
/// Used for every byte that enters the service: uploads,
/// staging (the Api) and web-download imports (the image grain, which also gives up when the
/// source stalls for the idle timeout).
/// <para>
/// Hashing is most of an upload's CPU, and the two hashes are independent, so while cores are
/// spare an upload hashes on two lanes (md5 on one, sha512 on the other), each a loop over a
/// ring of <see cref="Ring"/> blocks behind the reader. Writing a block to a file is shared:
/// after its hash, each lane writes the block's pieces the other lane has not taken yet, so
/// the write goes to whichever lane is ahead and the upload is bound by about half of the
/// work per byte, not by the sum of everything on one core. When other uploads already
/// keep the cores busy, handing blocks between threads only adds wake-ups, so the upload
/// hashes and writes each block on the reading thread instead.
/// </para>
/// </summary>
public sealed class HashingReadStream : ReadOnlyStream
{
    private const int BlockSize = 1 << 20;
    private const int Ring = 4;
    // The unit in which the lanes share a block's write.
    private const int WritePiece = 128 << 10;

    // Uploads in progress in this process; each one hashing on lanes keeps two cores busy.
    private static int s_active;

    private readonly Stream _source;
    private readonly long _maxBytes;
    private readonly TimeSpan? _idleTimeout;
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly IncrementalHash _sha512 = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
    private readonly FormatSniffer _format = new();

    // Pooled blocks, rented when first needed (a small image needs one) and reused in turn
    // once both lanes are done with them.
    private readonly byte[]?[] _blocks = new byte[Ring][];
    private readonly int[] _pending = new int[Ring];
    private readonly long[] _offsets = new long[Ring];
    private readonly int[] _piecesTaken = new int[Ring];
    private readonly SemaphoreSlim _free = new(Ring);
    private readonly Lane? _md5Lane;
    private readonly Lane? _shaLane;
    private Stream? _sink;
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _file;
    private int _next;
    private long _total;
    // Stopwatch ticks spent hashing, both hashes added (the hash time metric).
    private long _hashTicks;
    private bool _disposed;

    /// <summary>Wraps <paramref name="source"/>, allowing at most <paramref name="maxBytes"/> bytes.</summary>
    /// <param name="source">The bytes to measure.</param>
    /// <param name="maxBytes">Reading more than this throws a <see cref="GlanceException"/> of kind <see cref="ErrorKind.TooLarge"/>.</param>
    /// <param name="idleTimeout">Give up when the source sends nothing for this long.</param>
    /// <param name="hashInParallel">Hash on two lanes (true) or on the reading thread (false);
    /// by default, on lanes while the uploads in progress leave cores spare.</param>
    public HashingReadStream(Stream source, long maxBytes, TimeSpan? idleTimeout = null, bool? hashInParallel = null)
    {
        (_source, _maxBytes, _idleTimeout) = (source, maxBytes, idleTimeout);
        var active = Interlocked.Increment(ref s_active);
        if (hashInParallel ?? active * 2 <= Math.Max(2, Environment.ProcessorCount))
        {
            _md5Lane = new Lane(this, _md5);
            _shaLane = new Lane(this, _sha512);
        }
    }

    /// <summary>Bytes read so far.</summary>
    public long BytesRead => Volatile.Read(ref _total);

    /// <summary>True when a read gave up because the source sent nothing for the idle timeout.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>The measurements; call once the stream has been read to its end.</summary>
    public async Task<UploadedData> ResultAsync()
    {
        await DrainAsync();
        GlanceMetrics.Hashed(Interlocked.Read(ref _hashTicks));
        var (format, virtualSize, unsafeReason) = _format.Result();
        return new UploadedData(
            _total,
            Convert.ToHexStringLower(_md5.GetHashAndReset()),
            Convert.ToHexStringLower(_sha512.GetHashAndReset()),
            virtualSize,
            format,
            unsafeReason);
    }

    /// <summary>
    /// The store's copy loop, done here without the extra copy into the caller's buffer: each
    /// block is written straight from the ring by the lanes (at its offset, when the destination
    /// is a file) or after its sha512 on the sha512 lane (any other stream).
    /// </summary>
    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        if (destination is FileStream { CanSeek: true, Position: 0 } file)
        {
            _file = file.SafeFileHandle;
        }
        else
        {
            _sink = destination;
        }
        while (!(await FillAsync(BlockSize, cancellationToken)).IsEmpty)
        {
        }
        await DrainAsync();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var block = await FillAsync(Math.Min(buffer.Length, BlockSize), cancellationToken);
        block.CopyTo(buffer);
        return block.Length;
    }

    /// <summary>Reads the next block (up to <paramref name="size"/> bytes) into the ring and hands it on.</summary>
    private async ValueTask<ReadOnlyMemory<byte>> FillAsync(int size, CancellationToken cancellationToken)
    {
        ThrowIfLaneFailed();
        await _free.WaitAsync(cancellationToken); // the slot's previous block is hashed and written
        if ((_shaLane?.Failure ?? _md5Lane?.Failure) is not null)
        {
            // A lane failed while this waited: read no further.
            _free.Release();
            ThrowIfLaneFailed();
        }
        var slot = _next;
        var block = _blocks[slot] ??= ArrayPool<byte>.Shared.Rent(BlockSize);
        ReadOnlyMemory<byte> data;
        try
        {
            // Fill a whole block before hashing: Kestrel hands out small pieces, and a hand-off
            // to the lanes pays off per block, not per piece.
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
                if (_total + filled > _maxBytes)
                {
                    throw GlanceException.TooLarge($"Image exceeds the storage limit of {_maxBytes} bytes.");
                }
            }
            data = target[..filled];
        }
        catch
        {
            _free.Release();
            throw;
        }
        if (data.IsEmpty)
        {
            _free.Release();
            return data;
        }
        _offsets[slot] = _total;
        Volatile.Write(ref _total, _total + data.Length);
        GlanceMetrics.DataReceived(data.Length);
        _format.Feed(data.Span);
        _next = (slot + 1) % Ring;
        if (_md5Lane is null || _shaLane is null)
        {
            var started = Stopwatch.GetTimestamp();
            _md5.AppendData(data.Span);
            _sha512.AppendData(data.Span);
            HashedSince(started);
            _piecesTaken[slot] = 0;
            WritePieces(slot, data.Span);
            _free.Release();
        }
        else
        {
            _pending[slot] = 2;
            _piecesTaken[slot] = 0;
            _md5Lane.Post(slot, data);
            _shaLane.Post(slot, data);
        }
        return data;
    }

    private async ValueTask<int> ReadSourceAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_idleTimeout is not { } idle)
        {
            return await _source.ReadAsync(buffer, cancellationToken);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(idle);
        try
        {
            return await _source.ReadAsync(buffer, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            TimedOut = true;
            throw new TimeoutException($"No data received for {idle.TotalSeconds:0} seconds.");
        }
    }

    /// <summary>Waits until every block read so far is hashed (and written), then reports a lane's failure.</summary>
    private async Task DrainAsync()
    {
        if (_md5Lane is not null && _shaLane is not null)
        {
            _md5Lane.Complete();
            _shaLane.Complete();
            await Task.WhenAll(_md5Lane.Done, _shaLane.Done);
        }
        ThrowIfLaneFailed();
    }

    private void ThrowIfLaneFailed()
    {
        if ((_shaLane?.Failure ?? _md5Lane?.Failure) is { } failure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>
    /// Writes the pieces of the slot's block that no lane has taken yet (all of it, for a
    /// stream that is not a file: that lane is the sha512 lane).
    /// </summary>
    private void WritePieces(int slot, ReadOnlySpan<byte> block)
    {
        if (_file is { } file)
        {
            int piece;
            while ((piece = Interlocked.Increment(ref _piecesTaken[slot]) - 1) * WritePiece < block.Length)
            {
                var start = piece * WritePiece;
                RandomAccess.Write(file, block.Slice(start, Math.Min(WritePiece, block.Length - start)), _offsets[slot] + start);
            }
        }
        else
        {
            _sink?.Write(block);
        }
    }

    private void HashedSince(long started) => Interlocked.Add(ref _hashTicks, Stopwatch.GetTimestamp() - started);

    /// <summary>A block is free again once both lanes are done with it.</summary>
    private void BlockDone(int slot)
    {
        if (Interlocked.Decrement(ref _pending[slot]) == 0)
        {
            _free.Release();
        }
    }

    /// <summary>
    /// One hash's loop over the blocks, in order, on a pool thread; after hashing a block it
    /// helps write it. It only sleeps when it has caught up with the reader, so the slower
    /// lane runs without wake-ups.
    /// </summary>
    private sealed class Lane
    {
        private readonly Channel<(int Slot, ReadOnlyMemory<byte> Block)> _queue =
            Channel.CreateUnbounded<(int, ReadOnlyMemory<byte>)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly HashingReadStream _owner;
        private readonly IncrementalHash _hash;

        public Lane(HashingReadStream owner, IncrementalHash hash)
        {
            (_owner, _hash) = (owner, hash);
            Done = Task.Run(RunAsync);
        }

        public Task Done { get; }

        /// <summary>The first error of this lane's work (a store write, say); later blocks are skipped.</summary>
        public Exception? Failure { get => Volatile.Read(ref _failure); private set => Volatile.Write(ref _failure, value); }

        private Exception? _failure;

        public void Post(int slot, ReadOnlyMemory<byte> block) => _queue.Writer.TryWrite((slot, block));

        public void Complete() => _queue.Writer.TryComplete();

        private async Task RunAsync()
        {
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync())
            {
                while (reader.TryRead(out var item))
                {
                    if (Failure is null)
                    {
                        try
                        {
                            var started = Stopwatch.GetTimestamp();
                            _hash.AppendData(item.Block.Span);
                            _owner.HashedSince(started);
                            // A stream that is not a file takes the block in one write, in order: the sha512 lane's.
                            if (_owner._file is not null || _hash == _owner._sha512)
                            {
                                _owner.WritePieces(item.Slot, item.Block.Span);
                            }
                        }
                        catch (Exception e)
                        {
                            Failure = e;
                        }
                    }
                    _owner.BlockDone(item.Slot);
                }
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Position { get => _total; }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            Interlocked.Decrement(ref s_active);
            // A failed upload may leave blocks on the lanes: let them finish before the blocks
            // go back to the pool and the hashes are freed.
            _md5Lane?.Complete();
            _shaLane?.Complete();
            Task.WhenAll(_md5Lane?.Done ?? Task.CompletedTask, _shaLane?.Done ?? Task.CompletedTask)
                .ContinueWith(_ => { }, TaskScheduler.Default).Wait();
            _md5.Dispose();
            _sha512.Dispose();
            foreach (var block in _blocks.OfType<byte[]>())
            {
                ArrayPool<byte>.Shared.Return(block);
            }
            _free.Dispose();
        }
        base.Dispose(disposing);
    }
}
