using System.Globalization;
using System.Text.Json;
using Glance.Grains.Catalog;
using Glance.Grains.Storage;

namespace Glance.Grains.Templates;

// The template index: the image catalog's mechanism (owner-sharded by CatalogShards, version-guarded
// entries, RecentRemovals, one row per entry in SQLite or in an Azure Table through VersionedTable),
// with entries of its own. Template lists are small pages over few entries, so a query is one pass
// over a shard rather than the image catalog's ordered index.

/// <summary>One shard of the template index (plumbing between template grains and the catalog).</summary>
[Alias("glance.ITemplateShardGrain"), Hosting.SiloOnly]
public interface ITemplateShardGrain : IGrainWithIntegerKey
{
    /// <summary>Stores an entry unless the shard has a newer version.</summary>
    [Alias("upsert")]
    Task UpsertAsync(TemplateEntry entry);

    /// <summary>Drops a deleted template unless the shard has a newer version.</summary>
    [Alias("remove")]
    Task RemoveAsync(Guid templateId, long version);

    /// <summary>Up to <c>query.Limit</c> templates the caller may list, in query order, strictly after <paramref name="after"/>.</summary>
    [ReadOnly, Alias("query")]
    Task<ImmutableArray<TemplateRecord>> QueryAsync(Caller caller, TemplateQuery query, TemplateRecord? after);
}

/// <summary>Has a template grain send its entry to its index shard again (start-up repair).</summary>
[Alias("glance.ITemplateMaintenanceGrain"), Hosting.SiloOnly]
public interface ITemplateMaintenanceGrain : IGrainWithGuidKey
{
    /// <summary>Publishes the template's current entry (a no-op for an id never used).</summary>
    [Alias("publish")]
    Task PublishToIndexAsync();
}

/// <summary>A template as its index shard keeps it: attributes, members, version.</summary>
[GenerateSerializer, Immutable, Alias("glance.template-entry")]
public sealed record TemplateEntry(
    [property: Id(0)] TemplateRecord Template,
    [property: Id(1)] ImmutableDictionary<string, MemberStatus> Members,
    [property: Id(2)] long Version);

/// <summary>Durable home of the template index: one row per template, version-guarded.</summary>
public interface ITemplateIndexStore
{
    /// <summary>A shard's live entries.</summary>
    Task<IReadOnlyList<TemplateEntry>> LoadShardAsync(long shard);

    /// <summary>Stores an entry unless a newer version is stored.</summary>
    Task UpsertAsync(long shard, TemplateEntry entry);

    /// <summary>A tombstone at <paramref name="version"/> unless a newer version is stored.</summary>
    Task RemoveAsync(long shard, Guid templateId, long version);
}

/// <summary>An in-memory shard of the template index, loaded from the store on activation.</summary>
[GrainType("glance.template-shard")]
[Reentrant] // Queries run between writes; writes re-check versions after awaiting storage.
public sealed class TemplateShardGrain(ITemplateIndexStore store, TimeProvider clock) : Grain, ITemplateShardGrain
{
    private readonly Dictionary<Guid, TemplateEntry> _entries = [];
    private readonly RecentRemovals _removed = new(clock);

    private long Shard => this.GetPrimaryKeyLong();

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in await store.LoadShardAsync(Shard))
        {
            _entries[entry.Template.Id] = entry;
        }
    }

    async Task ITemplateShardGrain.UpsertAsync(TemplateEntry entry)
    {
        if (IsStale(entry.Template.Id, entry.Version))
        {
            return;
        }
        await store.UpsertAsync(Shard, entry);
        if (!IsStale(entry.Template.Id, entry.Version))
        {
            _entries[entry.Template.Id] = entry;
        }
    }

    async Task ITemplateShardGrain.RemoveAsync(Guid templateId, long version)
    {
        if (IsStale(templateId, version))
        {
            return;
        }
        await store.RemoveAsync(Shard, templateId, version);
        if (!IsStale(templateId, version))
        {
            _entries.Remove(templateId);
            _removed.Add(templateId, version);
        }
    }

    Task<ImmutableArray<TemplateRecord>> ITemplateShardGrain.QueryAsync(Caller caller, TemplateQuery query, TemplateRecord? after)
    {
        var ordering = new TemplateOrdering(query);
        var page = _entries.Values
            .Where(e => Matches(caller, query, e) && (after is null || ordering.Compare(e.Template, after) > 0))
            .Select(e => e.Template)
            .Order(ordering)
            .Take(Math.Clamp(query.Limit, 0, TemplateQuery.MaxLimit))
            .ToImmutableArray();
        return Task.FromResult(page);
    }

    private static bool Matches(Caller caller, TemplateQuery query, TemplateEntry entry)
    {
        var t = entry.Template;
        return ImageAccess.IsListed(caller, t.Owner, t.Visibility, entry.Members, query.Visibility, query.MemberStatus)
            && (query.Name is null || t.Name == query.Name)
            && (query.Owner is null || t.Owner == query.Owner)
            && (query.ImageId is null || t.ImageIds.Contains(query.ImageId.Value))
            && (query.Tags.IsDefaultOrEmpty || query.Tags.All(t.Tags.Contains));
    }

    private bool IsStale(Guid templateId, long version) =>
        (_entries.TryGetValue(templateId, out var current) && current.Version >= version) || _removed.Covers(templateId, version);
}

/// <summary>The order of a template list: the sort key, then id (a total order, so markers page exactly).</summary>
public sealed class TemplateOrdering(TemplateQuery query) : IComparer<TemplateRecord>
{
    /// <inheritdoc />
    public int Compare(TemplateRecord? x, TemplateRecord? y)
    {
        if (x is null || y is null)
        {
            return x is null ? (y is null ? 0 : -1) : 1;
        }
        var byKey = query.SortKey switch
        {
            TemplateSortKey.Name => string.CompareOrdinal(x.Name, y.Name),
            TemplateSortKey.UpdatedAt => x.UpdatedAt.CompareTo(y.UpdatedAt),
            TemplateSortKey.Id => 0,
            _ => x.CreatedAt.CompareTo(y.CreatedAt),
        };
        var order = byKey != 0 ? byKey : x.Id.CompareTo(y.Id);
        return query.Descending ? -order : order;
    }
}

/// <summary>Answers template lists: every shard's first page after the marker, merged. Stateless: local on every silo.</summary>
[GrainType("glance.template-catalog")]
[StatelessWorker]
public sealed class TemplateCatalogGrain : Grain, ITemplateCatalogGrain
{
    async Task<ImmutableArray<TemplateRecord>> ITemplateCatalogGrain.ListAsync(Caller caller, TemplateQuery query)
    {
        TemplateRecord? after = null;
        if (query.Marker is { } marker)
        {
            try
            {
                after = (await GrainFactory.GetGrain<ITemplateGrain>(marker).GetAsync(caller)).Template;
            }
            catch (GlanceException e) when (e.Kind == ErrorKind.NotFound)
            {
                throw GlanceException.BadRequest($"marker {marker} could not be found.");
            }
        }
        if (query.Limit <= 0)
        {
            return [];
        }
        var pages = await Task.WhenAll(this.CatalogShards().All.Select(s => GrainFactory.GetGrain<ITemplateShardGrain>(s).QueryAsync(caller, query, after)));
        return [.. pages.SelectMany(p => p).Order(new TemplateOrdering(query)).Take(Math.Min(query.Limit, TemplateQuery.MaxLimit))];
    }
}

/// <summary>The template index in the embedded database: table <c>template_entry</c> (created on first use), one row per template.</summary>
public sealed class SqliteTemplateIndexStore(SqliteDatabase database) : ITemplateIndexStore
{
    private readonly Lazy<Task> _schema = new(() => database.WriteAsync(connection =>
    {
        SqliteDatabase.Execute(connection, """
            CREATE TABLE IF NOT EXISTS template_entry (
                template_id TEXT PRIMARY KEY,
                shard       INTEGER NOT NULL,
                version     INTEGER NOT NULL,
                entry       TEXT NULL);
            CREATE INDEX IF NOT EXISTS template_entry_by_shard ON template_entry (shard);
            """);
        return true;
    }));

    /// <summary>Creates the table if it is missing (the start-up repair joins it).</summary>
    public Task EnsureSchemaAsync() => _schema.Value;

    /// <inheritdoc />
    public async Task<IReadOnlyList<TemplateEntry>> LoadShardAsync(long shard)
    {
        await _schema.Value;
        return await database.ReadAsync<IReadOnlyList<TemplateEntry>>(connection =>
        {
            using var command = SqliteDatabase.Command(connection,
                "SELECT entry FROM template_entry WHERE shard = $shard AND entry IS NOT NULL", ("$shard", shard));
            using var reader = command.ExecuteReader();
            var entries = new List<TemplateEntry>();
            while (reader.Read())
            {
                entries.Add(JsonSerializer.Deserialize<TemplateEntry>(reader.GetString(0), StorageJson.Options)!);
            }
            return entries;
        });
    }

    /// <inheritdoc />
    public Task UpsertAsync(long shard, TemplateEntry entry) =>
        WriteAsync(shard, entry.Template.Id, entry.Version, JsonSerializer.Serialize(entry, StorageJson.Options));

    /// <inheritdoc />
    public Task RemoveAsync(long shard, Guid templateId, long version) => WriteAsync(shard, templateId, version, null);

    private async Task WriteAsync(long shard, Guid id, long version, string? entry)
    {
        await _schema.Value;
        await database.WriteAsync(connection => SqliteDatabase.Command(connection, """
            INSERT INTO template_entry (template_id, shard, version, entry) VALUES ($id, $shard, $version, $entry)
            ON CONFLICT (template_id) DO UPDATE SET shard = excluded.shard, version = excluded.version, entry = excluded.entry
            WHERE excluded.version > template_entry.version
            """, ("$id", SqliteCatalogStore.Key(id)), ("$shard", shard), ("$version", version), ("$entry", entry)).Run());
    }
}

/// <summary>The template index in an Azure Table (the azure profile): one entity per template in its shard's partition.</summary>
public sealed class AzureTableTemplateIndexStore(VersionedTable table) : ITemplateIndexStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<TemplateEntry>> LoadShardAsync(long shard)
    {
        var entries = new List<TemplateEntry>();
        await foreach (var payload in table.LoadAsync(Partition(shard)))
        {
            entries.Add(JsonSerializer.Deserialize<TemplateEntry>(payload, StorageJson.Options)!);
        }
        return entries;
    }

    /// <inheritdoc />
    public Task UpsertAsync(long shard, TemplateEntry entry) =>
        table.WriteAsync(Partition(shard), SqliteCatalogStore.Key(entry.Template.Id), entry.Version, JsonSerializer.SerializeToUtf8Bytes(entry, StorageJson.Options));

    /// <inheritdoc />
    public Task RemoveAsync(long shard, Guid templateId, long version) =>
        table.WriteAsync(Partition(shard), SqliteCatalogStore.Key(templateId), version, null);

    /// <summary>The stored version of a template's entry and whether it is live, or null when there is none (the cluster repair compares it).</summary>
    public Task<(long Version, bool Live)?> VersionAsync(long shard, Guid templateId) =>
        table.VersionAsync(Partition(shard), SqliteCatalogStore.Key(templateId));

    private static string Partition(long shard) => shard.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Start-up repair of the embedded profile: templates whose stored version is newer than their index
/// entry (a crash between the grain's write and its index update) publish themselves again. One
/// indexed SQL join; nothing to do when all agree.
/// </summary>
public sealed class TemplateIndexRecovery(SqliteDatabase database, SqliteTemplateIndexStore index, IGrainFactory grains,
    Microsoft.Extensions.Logging.ILogger<TemplateIndexRecovery> logger) : IStartupTask
{
    /// <inheritdoc />
    public async Task Execute(CancellationToken cancellationToken)
    {
        await index.EnsureSchemaAsync();
        var stale = await ImageSweep.FindAsync(database, """
            SELECT g.grain_key FROM grain_state g
            LEFT JOIN template_entry t ON t.template_id = g.grain_key
            WHERE g.state_name = 'template' AND g.grain_type = 'glance.template'
              AND (t.version IS NULL OR t.version < json_extract(g.payload, '$.version'))
            """);
        if (stale.Count == 0)
        {
            return;
        }
        Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger, "Re-publishing {Count} template(s) whose index entry was behind", stale.Count);
        foreach (var chunk in stale.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(id => grains.GetGrain<ITemplateMaintenanceGrain>(id).PublishToIndexAsync()));
        }
    }
}
