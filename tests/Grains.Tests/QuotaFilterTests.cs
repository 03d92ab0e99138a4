using Glance.Grains.Errors;
using Glance.Grains.Extensions.Quotas;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// The quotas extension for direct grain callers: the same limit an HTTP caller meets, from the
/// incoming grain call filter, exact when many callers create at once; the ledger reports usage.
/// </summary>
public sealed class QuotaFilterTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Concurrent_direct_creates_never_pass_the_limit()
    {
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path, silos: 2,
            settings: new Dictionary<string, string?> { ["Glance:Extensions:quotas:Limits:image_count_total"] = "3" });
        var owner = Caller.Member(NewProject());
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            try
            {
                await cluster.CreateAsync(owner);
                return true;
            }
            catch (GlanceException e) when (e.Kind == ErrorKind.TooLarge)
            {
                Assert.Contains("image_count_total", e.Message);
                return false;
            }
        }));
        Assert.Equal(3, outcomes.Count(created => created));
        var usage = await cluster.Client.GetGrain<IProjectQuotaGrain>(owner.ProjectId!).UsageAsync();
        Assert.Equal(new QuotaReport(QuotaOptions.ImageCountTotal, 3, 3), usage.Single(r => r.Key == QuotaOptions.ImageCountTotal));
        // Another project has its own count.
        await cluster.CreateAsync(Caller.Member(NewProject()));
    }
}
