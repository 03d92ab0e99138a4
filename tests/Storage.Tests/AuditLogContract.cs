using System.Text.Json;
using Glance.Grains.Extensions.AuditEvents;
using Glance.Grains.Storage;

namespace Glance.Storage.Tests;

/// <summary>
/// What every <see cref="IAuditLog"/> must do, written once and run against each log
/// (<see cref="SqliteAuditLogTests"/>, <see cref="AzureTableAuditLogTests"/>): events read back
/// whole, newest first (across days), filtered by image, project, operation and time, paged by
/// marker and limit exactly as the in-memory oracle (<see cref="AuditQuery.Matches"/>, id order)
/// says, kept across a new instance, never replaced.
/// </summary>
public abstract class AuditLogContract
{
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 22, 0, 0, TimeSpan.Zero);
    private static readonly string[] Projects = ["p-a", "p-b", "p-c"];
    private static readonly string[] Operations = ["image.create", "image.update", "image.delete", "image.upload"];
    private static readonly string[] Targets = [$"{Guid.NewGuid()}", $"{Guid.NewGuid()}", $"{Guid.NewGuid()}"];

    /// <summary>The log under test, empty at the start of each test.</summary>
    protected abstract IAuditLog Log { get; }

    /// <summary>A new instance over the same storage (as after a restart).</summary>
    protected abstract IAuditLog Reopen();

    /// <summary>
    /// 60 events over four days (crossing midnight, so the Azure log's day partitions), with
    /// projects, images and operations mixed and the odd event without a project or image;
    /// appended out of time order.
    /// </summary>
    private static List<AuditEvent> Events()
    {
        var events = new List<AuditEvent>();
        for (var i = 0; i < 60; i++)
        {
            var time = Start.AddMinutes(97 * i);
            events.Add(new AuditEvent(AuditEvent.NewId(time), time, i % 11 == 0 ? null : Projects[i % 3], $"user-{i % 4}",
                ["member", .. i % 5 == 0 ? new[] { "admin" } : []], Operations[i % 4], i % 13 == 0 ? null : Targets[i % Targets.Length],
                i % 2 == 0 ? ["name", "tags"] : [], i % 7 == 0 ? "failure" : "success", i % 7 == 0 ? 409 : 200, $"req-{i:D3}"));
        }
        // Two events in the same tick: the id's random tail orders them.
        events.Add(events[^1] with { Id = AuditEvent.NewId(events[^1].Time), RequestId = "req-same-tick" });
        return [.. events.OrderBy(e => e.RequestId!.GetHashCode(StringComparison.Ordinal))];
    }

    private async Task<List<AuditEvent>> AppendAsync()
    {
        var events = Events();
        foreach (var e in events)
        {
            await Log.AppendAsync(e);
        }
        return events;
    }

    private static List<AuditEvent> Expected(IEnumerable<AuditEvent> events, AuditQuery query) =>
        [.. events.Where(query.Matches).Where(e => query.Marker is null || string.CompareOrdinal(e.Id, query.Marker) > 0)
            .OrderBy(e => e.Id, StringComparer.Ordinal).Take(query.Limit)];

    private static void AssertSame(IEnumerable<AuditEvent> expected, IEnumerable<AuditEvent> actual) =>
        // Records holding ImmutableArrays compare the arrays by reference: compare their JSON instead.
        Assert.Equal(expected.Select(e => JsonSerializer.Serialize(e, StorageJson.Options)), actual.Select(e => JsonSerializer.Serialize(e, StorageJson.Options)));

    [Fact]
    public async Task An_empty_log_answers_an_empty_page()
    {
        Assert.Empty(await Log.QueryAsync(new AuditQuery()));
        Assert.Empty(await Log.QueryAsync(new AuditQuery(Target: Targets[0], Marker: AuditEvent.NewId(Start))));
    }

    [Fact]
    public async Task Events_read_back_whole_and_newest_first_across_days()
    {
        var events = await AppendAsync();

        var all = await Log.QueryAsync(new AuditQuery(Limit: AuditQuery.MaxLimit));

        Assert.Equal(events.Count, all.Length);
        AssertSame(events.OrderByDescending(e => e.Time).ThenBy(e => e.Id, StringComparer.Ordinal), all);
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Time >= p.Second.Time), "not newest first");
        var sameTick = Assert.Single(all, e => e.RequestId == "req-same-tick");
        Assert.Equal(events.Single(e => e.RequestId == "req-same-tick").Fields, sameTick.Fields);
    }

    public static TheoryData<string> Queries() => ["all", "image", "project", "operation", "since", "until", "window", "combined", "no-match"];

    private static AuditQuery QueryNamed(string name) => name switch
    {
        "all" => new AuditQuery(),
        "image" => new AuditQuery(Target: Targets[1]),
        "project" => new AuditQuery(Project: "p-b"),
        "operation" => new AuditQuery(Operation: "image.delete"),
        "since" => new AuditQuery(Since: Start.AddMinutes(97 * 40)), // inclusive: event 40 is in
        "until" => new AuditQuery(Until: Start.AddMinutes(97 * 12)),
        "window" => new AuditQuery(Since: Start.AddDays(1), Until: Start.AddDays(2.5)),
        "combined" => new AuditQuery(Target: Targets[2], Project: "p-c", Since: Start.AddHours(5)),
        "no-match" => new AuditQuery(Project: "p-nobody"),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task Filters_and_marker_pages_give_exactly_the_matching_events(string name)
    {
        var events = await AppendAsync();
        var query = QueryNamed(name);
        var matching = Expected(events, query with { Limit = int.MaxValue });
        Assert.Equal(name == "no-match", matching.Count == 0); // the filters are not vacuous

        // One page as large as the log: everything that matches.
        AssertSame(matching, await Log.QueryAsync(query with { Limit = AuditQuery.MaxLimit }));

        // Pages of 4, each after the last id of the one before, until a short page: the same events, none twice.
        var paged = new List<AuditEvent>();
        var pages = 0;
        for (string? marker = null; ; pages++)
        {
            var page = await Log.QueryAsync(query with { Marker = marker, Limit = 4 });
            AssertSame(Expected(events, query with { Marker = marker, Limit = 4 }), page);
            paged.AddRange(page);
            if (page.Length < 4)
            {
                break;
            }
            marker = page[^1].Id;
        }
        AssertSame(matching, paged);
        Assert.Equal(matching.Count / 4, pages);
    }

    [Fact]
    public async Task The_limit_bounds_a_page_and_a_marker_need_not_be_an_event()
    {
        var events = await AppendAsync();

        AssertSame(Expected(events, new AuditQuery(Limit: 1)), await Log.QueryAsync(new AuditQuery(Limit: 1)));
        Assert.Equal(AuditQuery.DefaultLimit, (await Log.QueryAsync(new AuditQuery())).Length);
        // A marker between events (the id of a time no event has) pages from that time on.
        var between = new AuditQuery(Marker: AuditEvent.NewId(Start.AddMinutes(97 * 30 + 1)), Limit: 5);
        var page = await Log.QueryAsync(between);
        AssertSame(Expected(events, between), page);
        Assert.All(page, e => Assert.True(e.Time <= Start.AddMinutes(97 * 30)));
    }

    [Fact]
    public async Task Events_outlive_the_instance_that_wrote_them()
    {
        var events = await AppendAsync();

        var reopened = Reopen();
        AssertSame(Expected(events, new AuditQuery(Limit: AuditQuery.MaxLimit)), await reopened.QueryAsync(new AuditQuery(Limit: AuditQuery.MaxLimit)));
        var later = Start.AddDays(10);
        var added = new AuditEvent(AuditEvent.NewId(later), later, "p-a", "user-x", ["admin"], "image.delete", Targets[0], [], "success", 204, "req-later");
        await reopened.AppendAsync(added);

        var first = await Log.QueryAsync(new AuditQuery(Target: Targets[0], Limit: 1));
        AssertSame([added], first);
    }

    [Fact]
    public async Task An_event_is_never_replaced()
    {
        var time = Start.AddHours(1);
        var original = new AuditEvent(AuditEvent.NewId(time), time, "p-a", "user-1", ["member"], "image.create", Targets[0], ["name"], "success", 201, "req-1");
        await Log.AppendAsync(original);

        await Assert.ThrowsAnyAsync<Exception>(() => Log.AppendAsync(original with { Operation = "image.delete", RequestId = "req-forged" }));

        AssertSame([original], await Log.QueryAsync(new AuditQuery()));
    }
}

/// <summary>The audit log contract on the embedded database, a fresh file per test.</summary>
public sealed class SqliteAuditLogTests : AuditLogContract, IAsyncLifetime
{
    private readonly TestDatabase _database = new();
    private IAuditLog? _log;

    protected override IAuditLog Log => _log ?? throw new InvalidOperationException("not started");

    protected override IAuditLog Reopen() => new SqliteAuditLog(_database.Open());

    public Task InitializeAsync()
    {
        _log = Reopen();
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();
}

/// <summary>The audit log contract on an Azure Table of the tests' own Azurite, a table per test (created by the log).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureTableAuditLogTests(AzuriteFixture azurite) : AuditLogContract
{
    private readonly string _table = $"audit{Guid.NewGuid():N}";
    private IAuditLog? _log;

    protected override IAuditLog Log => _log ??= Reopen();

    protected override IAuditLog Reopen() => new AzureTableAuditLog(new Azure.Data.Tables.TableClient(azurite.ConnectionString, _table));
}
