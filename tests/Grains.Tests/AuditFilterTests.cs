using Glance.Grains.Errors;
using Glance.Grains.Extensions.AuditEvents;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// The audit-events extension for direct grain callers: their mutations are recorded as an HTTP
/// caller's are, reads are not, and the log is durable across a restart of the cluster.
/// </summary>
public sealed class AuditFilterTests : IDisposable
{
    private static readonly Dictionary<string, string?> AuditOn = new() { ["Glance:Extensions:audit-events:Enabled"] = "true" };
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Direct_mutations_are_recorded_and_survive_a_restart()
    {
        var owner = Caller.Member(NewProject());
        var admin = Caller.Admin("admin");
        Guid id;
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path, settings: AuditOn))
        {
            id = (await cluster.CreateAsync(owner)).Id;
            await cluster.Image(id).TagAsync(owner, "direct");
            await cluster.Image(id).GetAsync(owner);
            await ThrowsGlance(ErrorKind.NotFound, () => cluster.Image(id).TagAsync(Caller.Member(NewProject()), "intruder"));
            await ThrowsGlance(ErrorKind.Forbidden, () => cluster.Client.GetGrain<IAuditEventsGrain>(0).ListAsync(owner, new AuditQuery()));
        }
        await using (var restarted = await GlanceTestCluster.StartAsync(_directory.Path, settings: AuditOn))
        {
            var events = await restarted.Client.GetGrain<IAuditEventsGrain>(0).ListAsync(admin, new AuditQuery(Target: id.ToString()));
            Assert.Equal(["image.tag", "image.tag", "image.create"], events.Select(e => e.Operation));
            Assert.Equal(("failure", 404), (events[0].Outcome, events[0].Status));
            Assert.Equal((owner.ProjectId, "success", 200), (events[1].Project, events[1].Outcome, events[1].Status));
            Assert.Equal<string>(["tags"], events[1].Fields.ToArray());
        }
    }
}
