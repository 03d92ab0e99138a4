using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Hosting;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Microsoft.Extensions.DependencyInjection;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// With <see cref="SiloOnlyFilter"/> (the azure profile's silos), a cluster client keeps to the
/// public contract: its call to the plumbing is refused, while the same plumbing still serves the
/// grains (a create publishes to its catalog shard) and the silo's own start-up code (its hosted
/// client).
/// </summary>
public sealed class SiloOnlyTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_cluster_client_is_refused_the_plumbing_that_grains_and_the_silo_itself_still_use()
    {
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path,
            configure: silo => silo.AddIncomingGrainCallFilter<SiloOnlyFilter>());
        var project = NewProject("p");
        var caller = Caller.Member(project);
        var image = await cluster.CreateAsync(caller, ImageDraft.Empty);

        // The public contract works, and through it the grains' own calls to the plumbing (the
        // catalog shard the create wrote to).
        Assert.Contains(image.Id, (await cluster.Catalog.ListAsync(caller, new ImageQuery())).Select(i => i.Id));

        // The client's own calls to the plumbing are refused.
        var refused = await Assert.ThrowsAsync<GlanceException>(() => cluster.Client.GetGrain<IImageMaintenanceGrain>(image.Id).PublishToCatalogAsync());
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
        var shard = CatalogLayout.Default.Of(project, image.Id);
        await Assert.ThrowsAsync<GlanceException>(() => cluster.Client.GetGrain<ICatalogShardGrain>(shard).RemoveAsync(image.Id, long.MaxValue));
        Assert.Contains(image.Id, (await cluster.Catalog.ListAsync(caller, new ImageQuery())).Select(i => i.Id));

        // The silo's own code (what its start-up recoveries call through) passes.
        var siloGrains = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainFactory>();
        await siloGrains.GetGrain<IImageMaintenanceGrain>(image.Id).PublishToCatalogAsync();
    }
}
