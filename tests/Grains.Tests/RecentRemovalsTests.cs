using Glance.Grains.Catalog;

namespace Glance.Grains.Tests;

/// <summary>A catalog shard forgets removals after a while: its memory does not grow with every image ever deleted.</summary>
public sealed class RecentRemovalsTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Removals_are_remembered_for_a_while_then_forgotten()
    {
        var clock = new ManualClock();
        var removals = new RecentRemovals(clock);
        var ids = Enumerable.Range(0, 10_000).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            removals.Add(id, 3);
        }
        Assert.Equal(10_000, removals.Count);
        Assert.True(removals.Covers(ids[0], 3));
        Assert.True(removals.Covers(ids[0], 2));
        Assert.False(removals.Covers(ids[0], 4));

        clock.Now += RecentRemovals.Lifetime + TimeSpan.FromSeconds(1);
        var late = Guid.NewGuid();
        removals.Add(late, 7);

        Assert.Equal(1, removals.Count);
        Assert.False(removals.Covers(ids[0], 3));
        Assert.True(removals.Covers(late, 7));
    }

    [Fact]
    public void A_later_removal_of_the_same_image_outlives_the_first()
    {
        var clock = new ManualClock();
        var removals = new RecentRemovals(clock);
        var id = Guid.NewGuid();
        removals.Add(id, 2);
        clock.Now += RecentRemovals.Lifetime - TimeSpan.FromSeconds(10);
        removals.Add(id, 5);
        clock.Now += TimeSpan.FromSeconds(20);
        removals.Add(Guid.NewGuid(), 1);

        // The first entry expired, but the image's younger removal is still there.
        Assert.True(removals.Covers(id, 5));
        Assert.Equal(2, removals.Count);
    }
}
