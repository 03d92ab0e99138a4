using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Glance.Api.Hosting;

/// <summary>
/// Kestrel's memory pool, with 256 KiB blocks instead of 4 KiB. The socket transport
/// receives into one block at a time, so with the default pool an image upload costs one
/// receive call per 4 KiB (131,072 calls for 512 MiB: more CPU than hashing the data).
/// With 256 KiB blocks it costs 1/64 of that (64 KiB blocks still left a tenth of a small
/// upload's CPU in receiving). Blocks are pinned (sockets need that) and kept for reuse, up
/// to <see cref="LargeBlockMemoryPool.MaxRetainedBlocks"/>: a burst of connections does not
/// leave its peak pinned forever.
/// </summary>
public sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    /// <inheritdoc />
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool();
}

/// <summary>A pool of pinned 256 KiB blocks.</summary>
public sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    private const int BlockSize = 256 * 1024;

    /// <summary>Free blocks kept for reuse (64 MiB); blocks returned beyond that go to the GC.</summary>
    public const int MaxRetainedBlocks = 256;

    private readonly ConcurrentQueue<byte[]> _free = new();
    private int _freeCount;

    /// <inheritdoc />
    public override int MaxBufferSize => BlockSize;

    /// <inheritdoc />
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            // Larger than a block: a one-off array, as Kestrel's own pool does.
            return new Block(null, new byte[minBufferSize]);
        }
        if (_free.TryDequeue(out var array))
        {
            Interlocked.Decrement(ref _freeCount);
            return new Block(this, array);
        }
        return new Block(this, GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true));
    }

    /// <summary>Free blocks held for reuse now.</summary>
    public int RetainedBlocks => Volatile.Read(ref _freeCount);

    /// <inheritdoc />
    protected override void Dispose(bool disposing) => _free.Clear();

    private void Return(byte[] block)
    {
        if (Interlocked.Increment(ref _freeCount) <= MaxRetainedBlocks)
        {
            _free.Enqueue(block);
        }
        else
        {
            Interlocked.Decrement(ref _freeCount);
        }
    }

    private sealed class Block(LargeBlockMemoryPool? pool, byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Block));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } returned && pool is not null)
            {
                pool.Return(returned);
            }
        }
    }
}
