using System.Diagnostics;
using Glance.Cluster.Tests.Support;

namespace Glance.Cluster.Tests;

/// <summary>
/// A silo's death or graceful stop asks the cluster for a repair pass (<c>SiloLossRepairTrigger</c>):
/// the uploads and imports a dead silo held, and the entries whose last update failed as a stopping
/// silo's activations ended, are found within seconds, not at the next hourly reminder. Read from
/// the surviving silos' <c>glance_repair_passes_total</c>; the fixture runs no reminder pass in the
/// test's time (the interval is an hour), so a pass after the kill or stop is the trigger's.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SiloLossRepairTests(ClusterFixture fixture) : IDisposable
{
    private const int Victim = 3;
    private readonly LocalCluster _cluster = fixture.Cluster;
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = ImagesHttp.RequestTimeout };

    public void Dispose() => _http.Dispose();

    [Fact]
    public Task A_silos_death_asks_the_cluster_for_a_repair_pass() => PassAfterAsync("kill");

    // A graceful stop ends every activation on the silo; an entry whose last update failed then waits for this pass.
    [Fact]
    public Task A_silos_graceful_stop_asks_the_cluster_for_a_repair_pass() => PassAfterAsync("stop");

    private async Task PassAfterAsync(string verb)
    {
        var survivors = _cluster.SiloMetrics.Where(s => s.Key != Victim).Select(s => s.Value).ToList();
        Assert.True(survivors.Count >= 2, $"the fixture has {_cluster.SiloMetrics.Count} silos");
        // Settled: no pass of a start (or an earlier test's kill) still on its way.
        var before = await PassesAsync(survivors);
        for (var settled = Stopwatch.StartNew(); settled.Elapsed < TimeSpan.FromSeconds(3);)
        {
            await Task.Delay(1000);
            var now = await PassesAsync(survivors);
            if (now != before)
            {
                (before, settled) = (now, Stopwatch.StartNew());
            }
        }

        await _cluster.NodeAsync(verb, "silo", Victim);
        try
        {
            var watch = Stopwatch.StartNew();
            while (await PassesAsync(survivors) <= before)
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(45), $"no surviving silo ran a repair pass within 45 s of the {verb}");
                await Task.Delay(500);
            }
        }
        finally
        {
            await _cluster.NodeAsync("start", "silo", Victim);
        }
    }

    private async Task<double> PassesAsync(IEnumerable<Uri> silos)
    {
        double sum = 0;
        foreach (var url in silos)
        {
            sum += PrometheusText.Sum(await _http.GetStringAsync(url), "glance_repair_passes_total");
        }
        return sum;
    }
}
