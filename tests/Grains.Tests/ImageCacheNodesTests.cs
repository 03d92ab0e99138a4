using Glance.Grains.Extensions.ImageCache;
using Glance.Grains.Identity;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// The image-cache extension's cluster part for direct grain callers: which nodes hold an image is
/// durable, and an image deleted by a direct caller (no API node, no cache of its own) is marked
/// purged for every node's cache; with the extension off, a delete leaves no mark.
/// </summary>
public sealed class ImageCacheNodesTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static Dictionary<string, string?> Settings(bool on) => new() { ["Glance:Extensions:image-cache:Enabled"] = on ? "true" : "false" };

    [Fact]
    public async Task Holders_are_durable_and_a_direct_delete_purges_them()
    {
        var owner = Caller.Member(NewProject());
        Guid image;
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path, silos: 2, settings: Settings(on: true)))
        {
            image = (await cluster.CreateAsync(owner)).Id;
            var nodes = cluster.Client.GetGrain<IImageCacheNodesGrain>(image);
            await nodes.AddAsync("node-a");
            await nodes.AddAsync("node-b");
            await nodes.AddAsync("node-a");
            await nodes.RemoveAsync("node-b");
            var holders = await nodes.GetAsync();
            Assert.Equal("node-a", Assert.Single(holders.Nodes));
            Assert.False(holders.Purged);
        }
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path, silos: 2, settings: Settings(on: true)))
        {
            var nodes = cluster.Client.GetGrain<IImageCacheNodesGrain>(image);
            Assert.Equal("node-a", Assert.Single((await nodes.GetAsync()).Nodes));
            await cluster.Image(image).DeleteAsync(owner);
            var purged = await nodes.GetAsync();
            Assert.True(purged.Purged);
            Assert.Empty(purged.Nodes);
            // A node that finishes a fill after the delete is not recorded.
            await nodes.AddAsync("node-c");
            Assert.Empty((await nodes.GetAsync()).Nodes);
        }
    }

    [Fact]
    public async Task Off_a_delete_leaves_no_purge_mark()
    {
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path, settings: Settings(on: false));
        var owner = Caller.Member(NewProject());
        var image = (await cluster.CreateAsync(owner)).Id;
        await cluster.Image(image).DeleteAsync(owner);
        Assert.False((await cluster.Client.GetGrain<IImageCacheNodesGrain>(image).GetAsync()).Purged);
    }
}
