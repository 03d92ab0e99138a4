using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Hosting;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Properties;
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
            configure: silo => silo.AddInternalInterfaceGuard(serviceKey: null));
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
        // The property set answers only its image grain, which checked the caller first.
        refused = await Assert.ThrowsAsync<GlanceException>(() => cluster.Client.GetGrain<IImagePropertiesGrain>(image.Id).GetAsync());
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
        Assert.NotNull(await cluster.Image(image.Id).GetAsync(caller));

        // The silo's own code (what its start-up recoveries call through) passes.
        var siloGrains = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainFactory>();
        await siloGrains.GetGrain<IImageMaintenanceGrain>(image.Id).PublishToCatalogAsync();
    }

    [Fact]
    public async Task With_a_service_key_only_callers_presenting_it_reach_the_internal_interfaces()
    {
        var key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path,
            configure: silo => silo.AddInternalInterfaceGuard(key));
        var project = NewProject("p");
        var caller = Caller.Member(project);

        // The public contract needs no key, and the grains behind it reach the internal ones (the
        // catalog shard, the quota grain a create asks).
        var image = await cluster.CreateAsync(caller, ImageDraft.Empty);
        Assert.Contains(image.Id, (await cluster.Catalog.ListAsync(caller, new ImageQuery())).Select(i => i.Id));

        // A client without the key (another Orleans service holding the cluster's certificate) is
        // refused the plumbing and the verbs only API nodes call; so is one with a wrong key.
        var stats = cluster.Client.GetGrain<ICatalogStatsGrain>(0);
        var quota = cluster.Client.GetGrain<Glance.Grains.Extensions.Quotas.IProjectQuotaGrain>(project);
        var refused = new List<ErrorKind>
        {
            (await Assert.ThrowsAsync<GlanceException>(() => stats.CountByShardAsync())).Kind,
            (await Assert.ThrowsAsync<GlanceException>(() => quota.UsageAsync())).Kind,
            (await Assert.ThrowsAsync<GlanceException>(() => cluster.Client.GetGrain<IImageMaintenanceGrain>(image.Id).PublishToCatalogAsync())).Kind,
        };
        RequestContext.Set(ServiceKey.ContextKey, key[..^2] + "xx");
        refused.Add((await Assert.ThrowsAsync<GlanceException>(() => stats.CountByShardAsync())).Kind);
        Assert.All(refused, kind => Assert.Equal(ErrorKind.Forbidden, kind));

        // With the key (what an API node's ServiceKeyStamp sends), the same calls pass.
        RequestContext.Set(ServiceKey.ContextKey, key);
        Assert.NotEmpty(await stats.CountByShardAsync());
        await quota.UsageAsync();
        RequestContext.Clear();

        // The silo's own code (its hosted client) stamps its calls.
        var siloGrains = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainFactory>();
        await siloGrains.GetGrain<IImageMaintenanceGrain>(image.Id).PublishToCatalogAsync();
        Assert.NotEmpty(await siloGrains.GetGrain<ICatalogStatsGrain>(0).CountByShardAsync());
    }
}
