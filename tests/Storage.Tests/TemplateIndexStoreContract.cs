using System.Collections.Immutable;
using System.Text.Json;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using Glance.Grains.Templates;

namespace Glance.Storage.Tests;

/// <summary>
/// What every <see cref="ITemplateIndexStore"/> must do, written once and run against each store
/// (<see cref="SqliteTemplateIndexStoreTests"/>, <see cref="AzureTableTemplateIndexStoreTests"/>):
/// a shard loads its live entries only; a write (entry or tombstone) wins only over an older
/// version, also when writers race; entries too large for one table property round-trip; the
/// entries outlive the instance that wrote them.
/// </summary>
public abstract class TemplateIndexStoreContract
{
    /// <summary>The store under test, empty at the start of each test.</summary>
    protected abstract ITemplateIndexStore Store { get; }

    /// <summary>A new instance over the same storage (as after a restart).</summary>
    protected abstract ITemplateIndexStore Reopen();

    private static TemplateEntry Entry(Guid id, long version, string? description = null) => new(
        new TemplateRecord
        {
            Id = id,
            Name = $"template-{version}",
            Description = description,
            Visibility = ImageVisibility.Shared,
            Tags = ["web", $"v{version}"],
            Owner = "p-owner",
            DefaultVersion = (int)version,
            LatestVersion = (int)version,
            CreatedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero),
            UpdatedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero).AddMinutes(version),
            ImageIds = [Guid.NewGuid()],
        },
        ImmutableDictionary<string, MemberStatus>.Empty.Add("p-member", MemberStatus.Accepted),
        version);

    // Records holding ImmutableArrays compare the arrays by reference: compare their JSON instead.
    private static string Json(TemplateEntry entry) => JsonSerializer.Serialize(entry, StorageJson.Options);

    private static void AssertEntries(IEnumerable<TemplateEntry> expected, IEnumerable<TemplateEntry> actual) =>
        Assert.Equal(expected.Select(Json).Order(StringComparer.Ordinal), actual.Select(Json).Order(StringComparer.Ordinal));

    [Fact]
    public async Task A_shard_loads_its_own_entries_whole()
    {
        var (a, b, c) = (Entry(Guid.NewGuid(), 1), Entry(Guid.NewGuid(), 3), Entry(Guid.NewGuid(), 2));
        Assert.Empty(await Store.LoadShardAsync(7));

        await Store.UpsertAsync(7, a);
        await Store.UpsertAsync(7, b);
        await Store.UpsertAsync(8, c);

        AssertEntries([a, b], await Store.LoadShardAsync(7));
        AssertEntries([c], await Store.LoadShardAsync(8));
        Assert.Empty(await Store.LoadShardAsync(9));
    }

    [Fact]
    public async Task Only_a_newer_version_replaces_an_entry()
    {
        var id = Guid.NewGuid();
        await Store.UpsertAsync(1, Entry(id, 5));

        await Store.UpsertAsync(1, Entry(id, 4, "older"));
        await Store.UpsertAsync(1, Entry(id, 5, "same version"));
        Assert.Null(Assert.Single(await Store.LoadShardAsync(1)).Template.Description);

        var newer = Entry(id, 6, "newer");
        await Store.UpsertAsync(1, newer);
        AssertEntries([newer], await Store.LoadShardAsync(1));
    }

    [Fact]
    public async Task A_tombstone_hides_the_entry_until_a_newer_version()
    {
        var (id, other) = (Guid.NewGuid(), Entry(Guid.NewGuid(), 1));
        await Store.UpsertAsync(2, Entry(id, 3));
        await Store.UpsertAsync(2, other);

        await Store.RemoveAsync(2, id, 4);
        AssertEntries([other], await Store.LoadShardAsync(2));

        // A late write of an older version (a slow publisher) does not bring it back ...
        await Store.UpsertAsync(2, Entry(id, 3));
        await Store.UpsertAsync(2, Entry(id, 4));
        AssertEntries([other], await Store.LoadShardAsync(2));
        // ... nor does an older tombstone undo a newer entry.
        var revived = Entry(id, 5);
        await Store.UpsertAsync(2, revived);
        await Store.RemoveAsync(2, id, 4);
        AssertEntries([other, revived], await Store.LoadShardAsync(2));
    }

    [Fact]
    public async Task A_removal_that_arrives_first_still_wins_over_older_writes()
    {
        var id = Guid.NewGuid();
        await Store.RemoveAsync(3, id, 10);

        await Store.UpsertAsync(3, Entry(id, 9));

        Assert.Empty(await Store.LoadShardAsync(3));
    }

    [Fact]
    public async Task Racing_writers_leave_the_newest_version()
    {
        var id = Guid.NewGuid();
        var versions = Enumerable.Range(1, 12).Select(v => (long)v).OrderBy(_ => Random.Shared.Next()).ToList();
        var entries = versions.ToDictionary(v => v, v => Entry(id, v));

        await Task.WhenAll(versions.Select(v => Task.Run(() => Store.UpsertAsync(4, entries[v]))));

        AssertEntries([entries[12]], await Store.LoadShardAsync(4));
    }

    [Fact]
    public async Task An_entry_larger_than_a_table_property_round_trips()
    {
        // Over 64 KiB of JSON (Azure's limit per property), under an entity's 1 MiB.
        var large = Entry(Guid.NewGuid(), 1, string.Concat(Enumerable.Range(0, 12000).Select(i => $"line {i:D5};")));
        Assert.True(Json(large).Length > 100_000);

        await Store.UpsertAsync(5, large);

        AssertEntries([large], await Store.LoadShardAsync(5));
    }

    [Fact]
    public async Task Entries_outlive_the_instance_that_wrote_them()
    {
        var (kept, removed) = (Entry(Guid.NewGuid(), 2), Guid.NewGuid());
        await Store.UpsertAsync(6, kept);
        await Store.UpsertAsync(6, Entry(removed, 1));
        await Store.RemoveAsync(6, removed, 2);

        var reopened = Reopen();
        AssertEntries([kept], await reopened.LoadShardAsync(6));
        await reopened.UpsertAsync(6, Entry(removed, 1));
        AssertEntries([kept], await Store.LoadShardAsync(6));
    }
}

/// <summary>The template index contract on the embedded database, a fresh file per test.</summary>
public sealed class SqliteTemplateIndexStoreTests : TemplateIndexStoreContract, IAsyncLifetime
{
    private readonly TestDatabase _database = new();
    private ITemplateIndexStore? _store;

    protected override ITemplateIndexStore Store => _store ?? throw new InvalidOperationException("not started");

    protected override ITemplateIndexStore Reopen() => new SqliteTemplateIndexStore(_database.Open());

    public Task InitializeAsync()
    {
        _store = Reopen();
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();
}

/// <summary>The template index contract on an Azure Table of the tests' own Azurite, a table per test (created by the store).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureTableTemplateIndexStoreTests(AzuriteFixture azurite) : TemplateIndexStoreContract
{
    private readonly string _table = $"templates{Guid.NewGuid():N}";
    private ITemplateIndexStore? _store;

    protected override ITemplateIndexStore Store => _store ??= Reopen();

    protected override ITemplateIndexStore Reopen() =>
        new AzureTableTemplateIndexStore(new VersionedTable(new Azure.Data.Tables.TableClient(azurite.ConnectionString, _table)));
}
