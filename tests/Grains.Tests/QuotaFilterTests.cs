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
    [Fact]
    public async Task A_caller_who_may_not_change_an_image_gets_the_grains_answer_never_the_owners_quota()
    {
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path, settings: new Dictionary<string, string?>
        {
            ["Glance:Extensions:quotas:Limits:image_count_total"] = "1",
            ["Glance:Extensions:quotas:Limits:image_size_total"] = "1",
        });
        var alice = Caller.Member(NewProject());
        var bob = Caller.Member(NewProject());
        var hers = (await cluster.CreateAsync(alice, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"))).Id;
        var before = (await cluster.Client.GetGrain<IProjectQuotaGrain>(alice.ProjectId!).UsageAsync()).ToArray();

        // Alice is at her count and would be past her size: Bob, who cannot see her image, is told
        // it does not exist (as for a random id), not that her project is over its limit.
        var upload = await ThrowsGlance(ErrorKind.NotFound, () => cluster.Image(hers).BeginUploadAsync(bob, UploadTarget.File, 1L << 30));
        var nobody = Guid.NewGuid();
        var missing = await ThrowsGlance(ErrorKind.NotFound, () => cluster.Image(nobody).BeginUploadAsync(bob, UploadTarget.File, 1L << 30));
        Assert.Equal(missing.Message.Replace(nobody.ToString(), hers.ToString()), upload.Message);
        Assert.DoesNotContain("quota", upload.Message, StringComparison.OrdinalIgnoreCase);
        // Nor does creating an image for her project tell him her usage: a member may not, whatever the quota.
        var create = await ThrowsGlance(ErrorKind.Forbidden, () => cluster.CreateAsync(bob, ImageDraft.Empty.With("owner", alice.ProjectId)));
        Assert.DoesNotContain("quota", create.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, (await cluster.Client.GetGrain<IProjectQuotaGrain>(alice.ProjectId!).UsageAsync()).ToArray());

        // Alice herself still meets her limits.
        await ThrowsGlance(ErrorKind.TooLarge, () => cluster.Image(hers).BeginUploadAsync(alice, UploadTarget.File, 1L << 30));
        await ThrowsGlance(ErrorKind.TooLarge, () => cluster.CreateAsync(alice));
    }
}
