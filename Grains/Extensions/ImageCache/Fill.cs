using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>
/// An image being copied from the store into the cache, and the downloads that read it as it
/// arrives. The copy reads the store into a ring of <see cref="Ring"/> blocks; a block is
/// served to the downloads from memory as soon as it is read, written to the temporary file
/// by the copy, and hashed (md5) on a second lane, so the store read, the file write and the
/// hash overlap instead of adding up. A download that falls behind the ring reads the
/// temporary file (a block leaves the ring only once it is written), so a slow client never
/// slows the copy and memory stays at the ring's size. The last byte is held back until the
/// whole copy matched the image's md5, so a download that reads a fill never completes with
/// bytes the cache would refuse.
/// </summary>
internal sealed class Fill(Guid image, ImageData data, string tempPath, SafeFileHandle handle)
{
    // Large blocks: one hand-off to the hash lane and one wake-up of waiting downloads per MiB.
    internal const int BlockSize = 1 << 20;
    private const int Ring = 8;

    private readonly Lock _lock = new();
    private readonly byte[]?[] _blocks = new byte[Ring][];
    // The block index each slot holds (-1: none) and how many downloads are copying out of it.
    private readonly long[] _blockOf = [-1, -1, -1, -1, -1, -1, -1, -1];
    private readonly int[] _lengths = new int[Ring];
    private readonly int[] _leases = new int[Ring];
    private long _received;
    private long _written;
    private bool _complete;
    private bool _released;
    private Exception? _failure;
    // Created only when someone waits, so a copy that nobody waits on signals nothing.
    private TaskCompletionSource? _progress;
    private TaskCompletionSource? _slotFreed;

    public Guid Image { get; } = image;
    public ImageData Data { get; } = data;
    public string TempPath { get; } = tempPath;
    public SafeFileHandle Handle { get; } = handle;

    /// <summary>Set when the entry is not wanted any more (removed, or its image deleted): the fill ends without one.</summary>
    public bool Discard { get; set; }

    /// <summary>A reader of the range (the temporary file opened now, while the name is certain).</summary>
    public Stream OpenReader(long offset, long length) =>
        new FillReadStream(File.OpenHandle(TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), offset, length, this);

    /// <summary>
    /// Copies <paramref name="source"/> into the temporary file, serving it to the readers on the
    /// way; the bytes copied and their md5 (lower-case hex). Throws when the source holds more
    /// bytes than the image's size.
    /// </summary>
    public async Task<(long Size, string Md5)> CopyAsync(Stream source, CancellationToken cancellationToken)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var hashed = new SemaphoreSlim(Ring); // slots whose block the hash lane is done with
        var queue = Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var lane = Task.Run(async () =>
        {
            await foreach (var block in queue.Reader.ReadAllAsync(CancellationToken.None))
            {
                md5.AppendData(block.Span);
                hashed.Release();
            }
        }, CancellationToken.None);
        var blockLength = (int)Math.Clamp(Data.Size, 1, BlockSize);
        try
        {
            for (long index = 0; ; index++)
            {
                var slot = (int)(index % Ring);
                await hashed.WaitAsync(cancellationToken);
                await RecycleAsync(slot, cancellationToken);
                var block = _blocks[slot] ??= GC.AllocateUninitializedArray<byte>(blockLength);
                var filled = 0;
                int read;
                while (filled < block.Length && (read = await source.ReadAsync(block.AsMemory(filled), cancellationToken)) > 0)
                {
                    filled += read;
                }
                if (filled == 0)
                {
                    hashed.Release();
                    break;
                }
                if (_received + filled > Data.Size)
                {
                    throw new InvalidDataException("the store holds more bytes than the image's size");
                }
                lock (_lock)
                {
                    (_blockOf[slot], _lengths[slot]) = (index, filled);
                    _received += filled;
                    Wake(ref _progress);
                }
                queue.Writer.TryWrite(block.AsMemory(0, filled));
                RandomAccess.Write(Handle, block.AsSpan(0, filled), index * blockLength);
                lock (_lock)
                {
                    _written += filled;
                    Wake(ref _progress);
                }
                if (filled < block.Length)
                {
                    break; // the source's end
                }
            }
        }
        finally
        {
            queue.Writer.TryComplete();
            await lane;
        }
        return (_received, Convert.ToHexStringLower(md5.GetHashAndReset()));
    }

    /// <summary>The copy is verified and kept: the last byte may be read, from the file.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            _complete = true;
            Release();
        }
    }

    public void Fail(Exception failure)
    {
        lock (_lock)
        {
            _failure ??= failure;
            Release();
        }
    }

    /// <summary>
    /// Reads the image's bytes at <paramref name="position"/> into <paramref name="buffer"/>, from
    /// the ring when it still holds them, else from the temporary file (<paramref name="file"/>),
    /// waiting for them when the copy has not got there yet.
    /// </summary>
    public async ValueTask<int> ReadAsync(SafeFileHandle file, long position, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var blockLength = (int)Math.Clamp(Data.Size, 1, BlockSize);
        while (true)
        {
            Task? progress = null;
            byte[]? block = null;
            int slot = 0, start = 0, count = 0;
            lock (_lock)
            {
                if (_failure is { } failure)
                {
                    throw new IOException($"The image cache fill of {Image} failed: {failure.Message}", failure);
                }
                var readable = _complete ? Data.Size : Math.Min(_received, Data.Size - 1);
                if (position < readable)
                {
                    count = (int)Math.Min(buffer.Length, readable - position);
                    var index = position / blockLength;
                    slot = (int)(index % Ring);
                    if (!_released && _blockOf[slot] == index)
                    {
                        // Copied outside the lock; the lease keeps the copy from reusing the slot meanwhile.
                        start = (int)(position - index * blockLength);
                        count = Math.Min(count, _lengths[slot] - start);
                        block = _blocks[slot]!;
                        _leases[slot]++;
                    }
                    else
                    {
                        // Behind the ring: its block is in the file (a block leaves the ring once written).
                        count = (int)Math.Min(count, _written - position);
                    }
                }
                if (count <= 0)
                {
                    progress = (_progress ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                }
            }
            if (block is not null)
            {
                return CopyOut(block, start, count, slot, buffer);
            }
            if (count > 0)
            {
                return ReadFile(file, position, buffer[..count]);
            }
            await progress!.WaitAsync(cancellationToken);
        }
    }

    private int CopyOut(byte[] block, int start, int count, int slot, Memory<byte> buffer)
    {
        block.AsSpan(start, count).CopyTo(buffer.Span);
        lock (_lock)
        {
            if (--_leases[slot] == 0)
            {
                Wake(ref _slotFreed);
            }
        }
        return count;
    }

    private static int ReadFile(SafeFileHandle file, long position, Memory<byte> buffer)
    {
        var read = RandomAccess.Read(file, buffer.Span, position);
        return read > 0 ? read : throw new IOException("The image cache file is shorter than its entry.");
    }

    /// <summary>Waits until no download copies out of the slot, then takes it from the ring.</summary>
    private async Task RecycleAsync(int slot, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task freed;
            lock (_lock)
            {
                if (_leases[slot] == 0)
                {
                    _blockOf[slot] = -1;
                    return;
                }
                freed = (_slotFreed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            await freed.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The copy is over: readers read the file from now on, and the ring goes with the last of them.</summary>
    private void Release()
    {
        _released = true;
        Array.Clear(_blocks);
        Wake(ref _progress);
    }

    private static void Wake(ref TaskCompletionSource? waiters)
    {
        waiters?.TrySetResult();
        waiters = null;
    }
}
