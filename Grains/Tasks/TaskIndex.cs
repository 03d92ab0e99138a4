using Glance.Grains.Catalog;
using Microsoft.Extensions.Options;

namespace Glance.Grains.Tasks;

/// <summary>
/// One shard of the task index, loaded from the <see cref="ITaskIndexStore"/> on activation. Tasks
/// live 48 hours once finished, so a shard stays small: a query is one pass over it.
/// </summary>
[GrainType("glance.task-shard")]
[Reentrant] // Queries run between writes; writes re-check versions after awaiting storage.
public sealed class TaskShardGrain(ITaskIndexStore store, TimeProvider clock) : Grain, ITaskShardGrain
{
    private readonly Dictionary<Guid, TaskEntry> _entries = [];

    private long Shard => this.GetPrimaryKeyLong();

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in await store.LoadShardAsync(Shard, clock.GetUtcNow()))
        {
            _entries[entry.Task.Id] = entry;
        }
    }

    async Task ITaskShardGrain.UpsertAsync(TaskEntry entry)
    {
        if (IsStale(entry))
        {
            return;
        }
        await store.UpsertAsync(Shard, entry);
        if (!IsStale(entry))
        {
            _entries[entry.Task.Id] = entry;
        }
    }

    Task<ImmutableArray<ImageTask>> ITaskShardGrain.QueryAsync(Caller caller, TaskQuery query, ImageTask? after)
    {
        var now = clock.GetUtcNow();
        var ordering = new TaskOrdering(query);
        var page = _entries.Values.Select(e => e.Task)
            .Where(t => !(t.ExpiresAt < now) && TaskAccess.IsListed(caller, t) && query.Matches(t)
                && (after is null || ordering.Compare(t, after) > 0))
            .Order(ordering)
            .Take(query.Limit)
            .ToImmutableArray();
        return Task.FromResult(page);
    }

    private bool IsStale(TaskEntry entry) => _entries.TryGetValue(entry.Task.Id, out var current) && current.Version >= entry.Version;
}

/// <summary>
/// Answers <c>GET /v2/tasks</c>: checks the policy, parses the query, asks the shards that may
/// hold the caller's tasks (every shard for an admin) for their first page after the marker, and
/// merges the pages. Stateless, so each silo runs its own local copies.
/// </summary>
[GrainType("glance.task-catalog")]
[StatelessWorker]
public sealed class TaskCatalogGrain(IOptions<TaskOptions> options) : Grain, ITaskCatalogGrain
{
    async Task<TaskPage> ITaskCatalogGrain.ListAsync(Caller caller, ImmutableArray<QueryParameter> parameters)
    {
        TaskAccess.Demand(options.Value, caller);
        var query = TaskQuery.Parse(parameters);
        // Glance looks the marker up before it checks the sort key.
        var after = query.Marker is { } marker ? await MarkerAsync(caller, marker) : null;
        var ordering = new TaskOrdering(query);
        if (query.Limit == 0)
        {
            return new TaskPage([], false);
        }
        var shards = caller.IsAdmin ? this.CatalogShards().All : this.CatalogShards().ForOwner(caller.ProjectId);
        var pages = await Task.WhenAll(shards.Select(s => GrainFactory.GetGrain<ITaskShardGrain>(s).QueryAsync(caller, query, after)));
        var page = pages.SelectMany(p => p).Order(ordering).Take(query.Limit).ToImmutableArray();
        return new TaskPage(page, page.Length == query.Limit);
    }

    private async Task<ImageTask> MarkerAsync(Caller caller, string marker)
    {
        try
        {
            if (TaskQuery.CanonicalId(marker) is { } id)
            {
                return await GrainFactory.GetGrain<ITaskGrain>(id).GetAsync(caller);
            }
        }
        catch (GlanceException e) when (e.Kind == ErrorKind.NotFound)
        {
        }
        throw GlanceException.BadRequest($"Task with the given id {marker} was not found");
    }
}
