using Glance.Grains.Catalog;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Microsoft.Extensions.DependencyInjection;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// An image write stands when its catalog update fails, and a timer sends the update again. When
/// the owner changed more than once meanwhile (A to B to C), every former owner's shard may hold
/// an entry: the retry removes each of them, so no former owner goes on listing an image it no
/// longer owns (a member of A would otherwise see C's private image in its list). The timer ends
/// with the image's activation, so an activation that ends still behind sends its entry then.
/// </summary>
public sealed class CatalogRetryTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_retry_after_two_failed_owner_changes_clears_both_former_owners_shards()
    {
        var outage = new ShardWriteOutage();
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path,
            configure: silo => silo.Services.AddSingleton(outage).AddSingleton<IIncomingGrainCallFilter>(outage));
        var admin = Caller.Admin(NewProject("admin"));
        var a = NewProject("a");
        var image = await cluster.CreateAsync(admin, ImageDraft.Empty.With("owner", a));
        Assert.Contains(image.Id, await ListedAsync(cluster, a));

        // Owners whose shards differ from each other's for this image: every move changes shard.
        var layout = CatalogLayout.Default;
        var b = Enumerable.Range(0, 100).Select(i => $"b-{i}").First(o => layout.Of(o, image.Id) != layout.Of(a, image.Id));
        var c = Enumerable.Range(0, 100).Select(i => $"c-{i}").First(o => layout.Of(o, image.Id) is var shard
            && shard != layout.Of(a, image.Id) && shard != layout.Of(b, image.Id));

        outage.Failing = true;
        await cluster.Image(image.Id).UpdateAsync(admin, [PatchOperation.Replace("owner", b)]);
        Assert.Equal(c, (await cluster.Image(image.Id).UpdateAsync(admin, [PatchOperation.Replace("owner", c)])).Owner);
        Assert.True(outage.Refused >= 2, $"the shards refused {outage.Refused} write(s): the outage did not take");
        outage.Failing = false;

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline
               && ((await ListedAsync(cluster, a)).Contains(image.Id) || (await ListedAsync(cluster, b)).Contains(image.Id)
                   || !(await ListedAsync(cluster, c)).Contains(image.Id)))
        {
            await Task.Delay(250);
        }
        Assert.DoesNotContain(image.Id, await ListedAsync(cluster, a));
        Assert.DoesNotContain(image.Id, await ListedAsync(cluster, b));
        Assert.Contains(image.Id, await ListedAsync(cluster, c));
    }

    [Fact]
    public async Task An_entry_still_behind_when_its_image_deactivates_is_sent_as_it_goes()
    {
        var outage = new ShardWriteOutage { Failing = true };
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path,
            configure: silo => silo.Services.AddSingleton(outage).AddSingleton<IIncomingGrainCallFilter>(outage));
        var project = NewProject("p");
        var image = await cluster.CreateAsync(Caller.Member(project), ImageDraft.Empty);

        // The create and the retry timer's first tick (1 s) refused; its next tick is 5 s later.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (outage.Refused < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.True(outage.Refused >= 2, $"the shards refused {outage.Refused} write(s)");
        Assert.DoesNotContain(image.Id, await ListedAsync(cluster, project));

        // The activation ends (as every grain's does on a silo's graceful stop) before the timer's
        // next tick: the timer ends with it, so only the deactivation can send the entry.
        outage.Failing = false;
        await cluster.Client.GetGrain<IImageGrain>(image.Id).AsReference<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        deadline = DateTime.UtcNow.AddSeconds(3);
        while (!(await ListedAsync(cluster, project)).Contains(image.Id) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Assert.Contains(image.Id, await ListedAsync(cluster, project));
    }

    /// <summary>What a member of <paramref name="project"/> lists.</summary>
    private static async Task<List<Guid>> ListedAsync(GlanceTestCluster cluster, string project) =>
        [.. (await cluster.Catalog.ListAsync(Caller.Member(project), new ImageQuery { Limit = ImageQuery.MaxLimit })).Select(i => i.Id)];

    /// <summary>While <see cref="Failing"/>, every catalog shard refuses the writes images send it (reads still work).</summary>
    private sealed class ShardWriteOutage : IIncomingGrainCallFilter
    {
        private int _refused;

        public volatile bool Failing;

        public int Refused => _refused;

        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (Failing && context.Request.GetInterfaceType() == typeof(ICatalogShardGrain)
                && context.MethodName is nameof(ICatalogShardGrain.UpsertAsync) or nameof(ICatalogShardGrain.RemoveAsync))
            {
                Interlocked.Increment(ref _refused);
                throw new TimeoutException("The test's catalog shard outage");
            }
            return context.Invoke();
        }
    }
}
