using Glance.Grains.Properties;
using Glance.Grains.Storage;

namespace Glance.Grains.Metadefs;

/// <summary>What the metadefs grain persists (JSON through the "glance" storage: add, don't rename).</summary>
public sealed class MetadefsState
{
    /// <summary>Every namespace with its contents, in creation order.</summary>
    public List<MetadefNamespace> Namespaces { get; set; } = [];

    /// <summary>Every resource type, in creation order.</summary>
    public List<MetadefResourceType> ResourceTypes { get; set; } = [];

    /// <summary>The last creation sequence number handed out (namespaces, tags).</summary>
    public long LastSequence { get; set; }

    /// <summary>The seeded namespaces already loaded once (a later release may seed more; none is loaded twice).</summary>
    public List<string> SeededNamespaces { get; set; } = [];
}

/// <summary>
/// The whole metadefs catalog in one activation (key 0): it is small (what an operator defines,
/// not per-image data), read far more than written, and one state makes every write atomic
/// (a namespace with its contents, a rename, a cascade) and every name check exact. The same
/// activation is the image property definitions catalog (<see cref="IPropertyDefinitionsGrain"/>),
/// derived from the same state (<see cref="ImageDefinitions"/>): one source of truth.
/// Its first activation loads <see cref="SeededNamespaces"/> (and the definitions an older
/// release kept in its own catalog); later ones never reload what an operator changed.
/// </summary>
[GrainType("glance.metadefs")]
public sealed partial class MetadefsGrain(
    [PersistentState("metadefs", GlanceStorage.ProviderName)] IPersistentState<MetadefsState> state,
    TimeProvider clock)
    : Grain, IMetadefsGrain, IPropertyDefinitionsGrain
{
    /// <summary>How a namespace lookup says "not found": Glance's messages differ by API.</summary>
    private enum Lookup
    {
        /// <summary>GET of the namespace itself.</summary>
        Show,
        /// <summary>The objects API.</summary>
        Objects,
        /// <summary>Everything else.</summary>
        Other,
    }

    private const string TagDuplicateNote = "(Please note that metadata tag names are case insensitive).";

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var first = !state.RecordExists;
        var working = Clone(state.State);
        var seeded = Seed(working, first);
        if (first)
        {
            await ImportLegacyAsync(working);
        }
        if (first || seeded)
        {
            state.State = working;
            await state.WriteStateAsync(cancellationToken);
        }
        await base.OnActivateAsync(cancellationToken);
    }

    // --- namespaces -----------------------------------------------------------------------

    Task<ImmutableArray<MetadefNamespace>> IMetadefsGrain.ListNamespacesAsync(Caller caller, NamespaceQuery query)
    {
        MetadefNamespace? marker = null;
        if (query.Marker is { } markerName)
        {
            marker = state.State.Namespaces.Find(n => n.Namespace == markerName)
                ?? throw GlanceException.NotFound($"Metadata definition namespace={markerName} was not found.");
            if (!Visible(caller, marker))
            {
                throw GlanceException.Forbidden($"Forbidding request, metadata definition namespace={markerName} is not visible.");
            }
        }
        var order = NamespaceOrder(query.SortKey, query.Ascending);
        var page = state.State.Namespaces
            .Where(n => Visible(caller, n))
            .Where(n => query.Visibility is null || n.Visibility == query.Visibility)
            .Where(n => query.ResourceTypes.IsEmpty || n.ResourceTypes.Any(a => query.ResourceTypes.Contains(a.Name)))
            .Where(n => marker is null || order.Compare(n, marker) > 0)
            .Order(order)
            .Take(query.Limit)
            .Select(n => n.Summary());
        return Task.FromResult(page.ToImmutableArray());
    }

    Task<MetadefNamespace> IMetadefsGrain.GetNamespaceAsync(Caller caller, string name) =>
        Task.FromResult(Find(caller, name, Lookup.Show));

    async Task<MetadefNamespace> IMetadefsGrain.CreateNamespaceAsync(Caller caller, MetadefNamespace draft)
    {
        Authorize(caller, "add_metadef_namespace");
        var name = draft.Namespace;
        if (state.State.Namespaces.Any(n => n.Namespace == name))
        {
            throw GlanceException.Conflict($"The metadata definition namespace={name} already exists.");
        }
        if (draft.Visibility is not (MetadefVisibility.Public or MetadefVisibility.Private))
        {
            throw GlanceException.BadRequest($"Invalid visibility value: {draft.Visibility}");
        }
        // In Glance's order: associations, objects, tags, properties (the first duplicate is the answer).
        EnsureDistinct(draft.ResourceTypes.Select(a => a.Name), StringComparer.Ordinal,
            rt => $"The metadata definition resource-type association of resource-type={rt} to namespace={name} already exists.");
        EnsureDistinct(draft.Objects.Select(o => o.Name), StringComparer.Ordinal,
            o => $"A metadata definition object with name={o} already exists in namespace={name}.");
        EnsureDistinct(draft.Tags.Select(t => t.Name), StringComparer.OrdinalIgnoreCase,
            t => $"A metadata tag with name={t} already exists in namespace={name}. {TagDuplicateNote}");
        EnsureDistinct(draft.Properties.Select(p => p.Name), StringComparer.Ordinal,
            p => $"A metadata definition property with name={p} already exists in namespace={name}.");
        var working = Clone(state.State);
        var now = Now();
        var created = draft with
        {
            Owner = draft.Owner ?? caller.ProjectId,
            CreatedAt = now,
            UpdatedAt = now,
            Sequence = ++working.LastSequence,
            ResourceTypes = [.. draft.ResourceTypes.Select(a => a with { CreatedAt = now, UpdatedAt = now })],
            Objects = [.. draft.Objects.Select(o => o with { CreatedAt = now, UpdatedAt = now })],
            Tags = [.. draft.Tags.Select(t => t with { CreatedAt = now, UpdatedAt = now, Sequence = ++working.LastSequence })],
            Properties = [.. draft.Properties.Select(p => p with { Enforced = false, MatchesPrefix = false })],
        };
        foreach (var association in created.ResourceTypes)
        {
            AddResourceType(working, association.Name, now);
        }
        working.Namespaces.Add(created);
        await SaveAsync(working);
        return created;
    }

    async Task<MetadefNamespace> IMetadefsGrain.UpdateNamespaceAsync(Caller caller, string name, NamespaceUpdate update)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "modify_metadef_namespace");
        if (update.Namespace != name && state.State.Namespaces.Any(n => n.Namespace == update.Namespace))
        {
            throw GlanceException.Conflict(
                $"Invalid update. It would result in a duplicate metadata definition namespace with the same name of {update.Namespace}");
        }
        var visibility = update.Visibility ?? MetadefVisibility.Private;
        if (visibility is not (MetadefVisibility.Public or MetadefVisibility.Private))
        {
            throw GlanceException.BadRequest($"Invalid visibility value: {visibility}");
        }
        // As Glance: every field is the request's, absent ones take the defaults of a create.
        var updated = ns with
        {
            Namespace = update.Namespace,
            DisplayName = update.DisplayName,
            Description = update.Description,
            Visibility = visibility,
            Protected = update.Protected ?? false,
            Owner = update.Owner ?? caller.ProjectId,
            UpdatedAt = Now(),
        };
        await ReplaceAsync(ns, updated);
        return updated;
    }

    async Task IMetadefsGrain.DeleteNamespaceAsync(Caller caller, string name)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "delete_metadef_namespace");
        EnsureUnprotected(ns);
        var working = Clone(state.State);
        working.Namespaces.Remove(ns);
        await SaveAsync(working);
    }

    async Task IMetadefsGrain.DeleteContentsAsync(Caller caller, string name, MetadefContents contents)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "delete_metadef_namespace");
        if (contents == MetadefContents.Tags)
        {
            Authorize(caller, "delete_metadef_tags");
        }
        EnsureUnprotected(ns);
        var emptied = contents switch
        {
            MetadefContents.Objects => ns with { Objects = [] },
            MetadefContents.Properties => ns with { Properties = [] },
            _ => ns with { Tags = [] },
        };
        await ReplaceAsync(ns, emptied);
    }

    Task<ImmutableArray<MetadefResourceType>> IMetadefsGrain.ListResourceTypesAsync(Caller caller) =>
        Task.FromResult(state.State.ResourceTypes.ToImmutableArray());

    // --- rules ----------------------------------------------------------------------------

    /// <summary>Glance's visibility rule: admins, ownerless and public namespaces, and the owner's project.</summary>
    private static bool Visible(Caller caller, MetadefNamespace ns) =>
        caller.IsAdmin || ns.Owner is null || ns.Visibility == MetadefVisibility.Public
        || (caller.ProjectId is not null && caller.ProjectId == ns.Owner);

    /// <summary>The namespace, if it exists and the caller sees it; a namespace the caller does not see is not found.</summary>
    private MetadefNamespace Find(Caller caller, string name, Lookup lookup)
    {
        var ns = state.State.Namespaces.Find(n => n.Namespace == name);
        if (ns is null)
        {
            throw GlanceException.NotFound(lookup == Lookup.Other
                ? $"Namespace {name} not found"
                : $"Metadata definition namespace={name} was not found.");
        }
        if (!Visible(caller, ns))
        {
            throw GlanceException.NotFound(lookup == Lookup.Show ? "The resource could not be found." : $"Namespace {name} not found");
        }
        return ns;
    }

    /// <summary>Glance's Zed default for every metadefs write: <c>role:admin</c>.</summary>
    private static void Authorize(Caller caller, string action)
    {
        if (!caller.IsAdmin)
        {
            throw GlanceException.Forbidden($"You are not authorized to complete {action} action.");
        }
    }

    private static void EnsureUnprotected(MetadefNamespace ns)
    {
        if (ns.Protected)
        {
            throw GlanceException.Forbidden($"Metadata definition namespace {ns.Namespace} is protected and cannot be deleted.");
        }
    }

    private static void EnsureDistinct(IEnumerable<string> names, StringComparer comparer, Func<string, string> message)
    {
        var seen = new HashSet<string>(comparer);
        foreach (var name in names)
        {
            if (!seen.Add(name))
            {
                throw GlanceException.Conflict(message(name));
            }
        }
    }

    /// <summary>
    /// Refuses a change that would leave an enforced image property definition unusable (its
    /// full name or constraints no longer a valid rule): a rule the grain could not apply.
    /// </summary>
    private static void EnsureRulesApply(MetadefNamespace ns)
    {
        if (!ImageDefinitions.Defines(ns, out var prefix))
        {
            return;
        }
        foreach (var property in ns.Properties.Where(p => p.Enforced))
        {
            var name = prefix + property.Name;
            if (ImageDefinitions.Strict(name, property).Problem() is { } problem)
            {
                throw GlanceException.BadRequest($"Property definition '{name}' is enforced and would no longer apply: {problem}");
            }
        }
    }

    /// <summary>
    /// Glance's namespace order: the sort key, then created_at, then the row id, all in the one
    /// direction; nulls first when ascending (as SQLite sorts them).
    /// </summary>
    private static Comparer<MetadefNamespace> NamespaceOrder(string key, bool ascending)
    {
        Func<MetadefNamespace, MetadefNamespace, int> primary = key switch
        {
            "namespace" => (a, b) => string.CompareOrdinal(a.Namespace, b.Namespace),
            "display_name" => (a, b) => string.CompareOrdinal(a.DisplayName, b.DisplayName),
            "description" => (a, b) => string.CompareOrdinal(a.Description, b.Description),
            "visibility" => (a, b) => string.CompareOrdinal(a.Visibility, b.Visibility),
            "protected" => (a, b) => a.Protected.CompareTo(b.Protected),
            "owner" => (a, b) => string.CompareOrdinal(a.Owner, b.Owner),
            "updated_at" => (a, b) => Nullable.Compare(a.UpdatedAt, b.UpdatedAt),
            "id" => (a, b) => a.Sequence.CompareTo(b.Sequence),
            _ => (a, b) => a.CreatedAt.CompareTo(b.CreatedAt),
        };
        var sign = ascending ? 1 : -1;
        return Comparer<MetadefNamespace>.Create((a, b) =>
        {
            var result = primary(a, b);
            if (result == 0)
            {
                result = a.CreatedAt.CompareTo(b.CreatedAt);
            }
            if (result == 0)
            {
                result = a.Sequence.CompareTo(b.Sequence);
            }
            return sign * result;
        });
    }

    // --- state ----------------------------------------------------------------------------

    private DateTimeOffset Now()
    {
        var now = clock.GetUtcNow();
        return new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }

    private static MetadefsState Clone(MetadefsState s) => new()
    {
        Namespaces = [.. s.Namespaces],
        ResourceTypes = [.. s.ResourceTypes],
        LastSequence = s.LastSequence,
        SeededNamespaces = [.. s.SeededNamespaces],
    };

    private static void Replace(MetadefsState working, MetadefNamespace before, MetadefNamespace after) =>
        working.Namespaces[working.Namespaces.IndexOf(before)] = after;

    /// <summary>Writes a namespace's new version.</summary>
    private Task ReplaceAsync(MetadefNamespace before, MetadefNamespace after) => SaveWithAsync(Clone(state.State), before, after);

    /// <summary>Writes <paramref name="working"/> (already changed elsewhere) with a namespace's new version.</summary>
    private Task SaveWithAsync(MetadefsState working, MetadefNamespace before, MetadefNamespace after)
    {
        Replace(working, before, after);
        EnsureRulesApply(after);
        return SaveAsync(working);
    }

    private static void AddResourceType(MetadefsState working, string name, DateTimeOffset now)
    {
        if (!working.ResourceTypes.Any(t => t.Name == name))
        {
            working.ResourceTypes.Add(new MetadefResourceType { Name = name, CreatedAt = now, UpdatedAt = now });
        }
    }

    /// <summary>Makes <paramref name="working"/> the state, in storage first; nothing changes when the write fails.</summary>
    private async Task SaveAsync(MetadefsState working)
    {
        await state.ReplaceAsync(working, () => _definitions = null);
    }
}
