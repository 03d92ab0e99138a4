using System.Buffers;
using Glance.Api.Hosting;

namespace Glance.Api.Tests;

/// <summary>Kestrel's block pool: large pinned blocks, reused, and a burst does not stay pinned.</summary>
public sealed class LargeBlockMemoryPoolTests
{
    [Fact]
    public void Blocks_are_reused_once_returned()
    {
        using var pool = new LargeBlockMemoryPool();
        var first = pool.Rent();
        var memory = first.Memory;
        first.Dispose();

        using var second = pool.Rent();

        Assert.Equal(256 * 1024, memory.Length);
        Assert.True(second.Memory.Span.Overlaps(memory.Span), "a returned block was not reused");
        Assert.Equal(0, pool.RetainedBlocks);
    }

    [Fact]
    public void A_burst_leaves_at_most_the_retained_limit_pinned()
    {
        using var pool = new LargeBlockMemoryPool();
        var burst = Enumerable.Range(0, LargeBlockMemoryPool.MaxRetainedBlocks + 40).Select(_ => pool.Rent()).ToList();

        burst.ForEach(block => block.Dispose());

        Assert.Equal(LargeBlockMemoryPool.MaxRetainedBlocks, pool.RetainedBlocks);
        // A block disposed twice goes back once.
        var block = pool.Rent();
        block.Dispose();
        block.Dispose();
        Assert.Equal(LargeBlockMemoryPool.MaxRetainedBlocks, pool.RetainedBlocks);
    }
}
