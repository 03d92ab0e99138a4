namespace Glance.Grains.Metadefs;

/// <summary>A namespace's objects, properties, tags and resource type associations.</summary>
public sealed partial class MetadefsGrain
{
    // --- objects --------------------------------------------------------------------------

    Task<ImmutableArray<MetadefObject>> IMetadefsGrain.ListObjectsAsync(Caller caller, string name) =>
        Task.FromResult(Find(caller, name, Lookup.Objects).Objects);

    Task<MetadefObject> IMetadefsGrain.GetObjectAsync(Caller caller, string name, string objectName) =>
        Task.FromResult(FindObject(Find(caller, name, Lookup.Objects), objectName));

    async Task<MetadefObject> IMetadefsGrain.CreateObjectAsync(Caller caller, string name, MetadefObject draft)
    {
        var ns = Find(caller, name, Lookup.Objects);
        Authorize(caller, "add_metadef_object");
        if (ns.Objects.Any(o => o.Name == draft.Name))
        {
            throw GlanceException.Conflict($"A metadata definition object with name={draft.Name} already exists in namespace={name}.");
        }
        var now = Now();
        var created = draft with { CreatedAt = now, UpdatedAt = now };
        await ReplaceAsync(ns, ns with { Objects = ns.Objects.Add(created) });
        return created;
    }

    async Task<MetadefObject> IMetadefsGrain.UpdateObjectAsync(Caller caller, string name, string objectName, MetadefObject update)
    {
        var ns = Find(caller, name, Lookup.Objects);
        Authorize(caller, "modify_metadef_object");
        var existing = FindObject(ns, objectName);
        if (update.Name != objectName && ns.Objects.Any(o => o.Name == update.Name))
        {
            throw GlanceException.Conflict(
                $"Invalid update. It would result in a duplicate metadata definition object with the same name={objectName} in namespace={name}.");
        }
        var updated = update with { CreatedAt = existing.CreatedAt, UpdatedAt = Now() };
        await ReplaceAsync(ns, ns with { Objects = ns.Objects.Replace(existing, updated) });
        return updated;
    }

    async Task IMetadefsGrain.DeleteObjectAsync(Caller caller, string name, string objectName)
    {
        var ns = Find(caller, name, Lookup.Objects);
        Authorize(caller, "delete_metadef_object");
        var existing = FindObject(ns, objectName);
        if (ns.Protected)
        {
            throw GlanceException.Forbidden($"Metadata definition object {objectName} is protected and cannot be deleted.");
        }
        await ReplaceAsync(ns, ns with { Objects = ns.Objects.Remove(existing) });
    }

    private static MetadefObject FindObject(MetadefNamespace ns, string objectName) =>
        ns.Objects.FirstOrDefault(o => o.Name == objectName)
            ?? throw GlanceException.NotFound($"Could not find metadata object {objectName}");

    // --- properties -----------------------------------------------------------------------

    Task<ImmutableArray<MetadefProperty>> IMetadefsGrain.ListPropertiesAsync(Caller caller, string name) =>
        Task.FromResult(Find(caller, name, Lookup.Other).Properties);

    Task<MetadefProperty> IMetadefsGrain.GetPropertyAsync(Caller caller, string name, string propertyName, string? resourceType)
    {
        var ns = Find(caller, name, Lookup.Other);
        if (resourceType is not null)
        {
            if (!state.State.ResourceTypes.Any(t => t.Name == resourceType))
            {
                throw GlanceException.NotFound($"The metadata definition resource-type with name={resourceType}, was not found.");
            }
            var association = ns.ResourceTypes.FirstOrDefault(a => a.Name == resourceType)
                ?? throw GlanceException.NotFound(
                    $"The metadata definition resource-type association of resource-type={resourceType} to namespace={name}, was not found.");
            var prefix = association.Prefix;
            if (string.IsNullOrEmpty(prefix) || !propertyName.StartsWith(prefix, StringComparison.Ordinal))
            {
                throw GlanceException.NotFound(
                    $"Property {propertyName} does not start with the expected resource type association prefix of '{prefix ?? "None"}'.");
            }
            propertyName = propertyName[prefix.Length..];
        }
        return Task.FromResult(FindProperty(ns, propertyName));
    }

    async Task<MetadefProperty> IMetadefsGrain.CreatePropertyAsync(Caller caller, string name, MetadefProperty draft)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "add_metadef_property");
        if (ns.Properties.Any(p => p.Name == draft.Name))
        {
            throw GlanceException.Conflict($"A metadata definition property with name={draft.Name} already exists in namespace={name}.");
        }
        // The service's own attributes are set through /v2/property-definitions only.
        var created = draft with { Enforced = false, MatchesPrefix = false };
        await ReplaceAsync(ns, ns with { Properties = ns.Properties.Add(created) });
        return created;
    }

    async Task<MetadefProperty> IMetadefsGrain.UpdatePropertyAsync(Caller caller, string name, string propertyName, MetadefProperty update)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "modify_metadef_property");
        var existing = FindProperty(ns, propertyName);
        if (update.Name != propertyName && ns.Properties.Any(p => p.Name == update.Name))
        {
            throw GlanceException.Conflict(
                $"Invalid update. It would result in a duplicate metadata definition property with the same name={propertyName} in namespace={name}.");
        }
        var updated = update with { Enforced = existing.Enforced, MatchesPrefix = existing.MatchesPrefix };
        await ReplaceAsync(ns, ns with { Properties = ns.Properties.Replace(existing, updated) });
        return updated;
    }

    async Task IMetadefsGrain.DeletePropertyAsync(Caller caller, string name, string propertyName)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "remove_metadef_property");
        var existing = FindProperty(ns, propertyName);
        EnsurePropertyUnprotected(ns, propertyName);
        await ReplaceAsync(ns, ns with { Properties = ns.Properties.Remove(existing) });
    }

    private static MetadefProperty FindProperty(MetadefNamespace ns, string propertyName) =>
        ns.Properties.FirstOrDefault(p => p.Name == propertyName)
            ?? throw GlanceException.NotFound($"Could not find property {propertyName}");

    private static void EnsurePropertyUnprotected(MetadefNamespace ns, string propertyName)
    {
        if (ns.Protected)
        {
            throw GlanceException.Forbidden($"Metadata definition property {propertyName} is protected and cannot be deleted.");
        }
    }

    // --- tags -----------------------------------------------------------------------------

    Task<ImmutableArray<MetadefTag>> IMetadefsGrain.ListTagsAsync(Caller caller, string name, TagQuery query)
    {
        var ns = Find(caller, name, Lookup.Other);
        var order = TagOrder(query.SortKey, query.Ascending);
        IEnumerable<MetadefTag> tags = ns.Tags.Sort(order);
        if (query.Marker is { } marker)
        {
            var after = FindTag(ns, marker);
            tags = tags.Where(t => order.Compare(t, after) > 0);
        }
        if (query.Limit is { } limit)
        {
            tags = tags.Take(limit);
        }
        return Task.FromResult(tags.ToImmutableArray());
    }

    Task<MetadefTag> IMetadefsGrain.GetTagAsync(Caller caller, string name, string tagName) =>
        Task.FromResult(FindTag(Find(caller, name, Lookup.Other), tagName));

    async Task<MetadefTag> IMetadefsGrain.CreateTagAsync(Caller caller, string name, string tagName)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "add_metadef_tag");
        EnsureNewTag(ns, tagName, except: null);
        var working = Clone(state.State);
        var now = Now();
        var created = new MetadefTag { Name = tagName, CreatedAt = now, UpdatedAt = now, Sequence = ++working.LastSequence };
        await SaveWithAsync(working, ns, ns with { Tags = ns.Tags.Add(created) });
        return created;
    }

    async Task<ImmutableArray<MetadefTag>> IMetadefsGrain.CreateTagsAsync(Caller caller, string name, ImmutableArray<string> tagNames, bool append)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "add_metadef_tags");
        if (tagNames.IsDefaultOrEmpty)
        {
            return [];
        }
        var names = new HashSet<string>(append ? ns.Tags.Select(t => t.Name) : [], StringComparer.OrdinalIgnoreCase);
        foreach (var tagName in tagNames)
        {
            if (!names.Add(tagName))
            {
                throw GlanceException.Conflict($"A metadata tag with name={tagName} already exists in namespace={name}. {TagDuplicateNote}");
            }
        }
        var working = Clone(state.State);
        var now = Now();
        var created = tagNames.Select(t => new MetadefTag { Name = t, CreatedAt = now, UpdatedAt = now, Sequence = ++working.LastSequence }).ToImmutableArray();
        await SaveWithAsync(working, ns, ns with { Tags = append ? ns.Tags.AddRange(created) : created });
        return created;
    }

    async Task<MetadefTag> IMetadefsGrain.UpdateTagAsync(Caller caller, string name, string tagName, string newName)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "modify_metadef_tag");
        var existing = FindTag(ns, tagName);
        EnsureNewTag(ns, newName, except: existing);
        var updated = existing with { Name = newName, UpdatedAt = Now() };
        await ReplaceAsync(ns, ns with { Tags = ns.Tags.Replace(existing, updated) });
        return updated;
    }

    async Task IMetadefsGrain.DeleteTagAsync(Caller caller, string name, string tagName)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "delete_metadef_tag");
        var existing = FindTag(ns, tagName);
        if (ns.Protected)
        {
            throw GlanceException.Forbidden($"Metadata definition tag {tagName} is protected and cannot be deleted.");
        }
        await ReplaceAsync(ns, ns with { Tags = ns.Tags.Remove(existing) });
    }

    private static MetadefTag FindTag(MetadefNamespace ns, string tagName) =>
        ns.Tags.FirstOrDefault(t => t.Name == tagName) ?? throw GlanceException.NotFound($"Could not find metadata tag {tagName}");

    /// <summary>Tag names are unique ignoring letter case (Glance's message says so; its MySQL collation makes it so).</summary>
    private static void EnsureNewTag(MetadefNamespace ns, string tagName, MetadefTag? except)
    {
        if (ns.Tags.Any(t => t != except && string.Equals(t.Name, tagName, StringComparison.OrdinalIgnoreCase)))
        {
            throw GlanceException.Conflict($"A metadata tag with name={tagName} already exists in namespace={ns.Namespace}. {TagDuplicateNote}");
        }
    }

    private static Comparer<MetadefTag> TagOrder(string key, bool ascending)
    {
        Func<MetadefTag, MetadefTag, int> primary = key switch
        {
            "name" => (a, b) => string.CompareOrdinal(a.Name, b.Name),
            "updated_at" => (a, b) => Nullable.Compare(a.UpdatedAt, b.UpdatedAt),
            "id" => (a, b) => a.Sequence.CompareTo(b.Sequence),
            _ => (a, b) => a.CreatedAt.CompareTo(b.CreatedAt),
        };
        var sign = ascending ? 1 : -1;
        return Comparer<MetadefTag>.Create((a, b) =>
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

    // --- resource type associations -------------------------------------------------------

    Task<ImmutableArray<MetadefAssociation>> IMetadefsGrain.ListAssociationsAsync(Caller caller, string name) =>
        Task.FromResult(Find(caller, name, Lookup.Other).ResourceTypes);

    async Task<MetadefAssociation> IMetadefsGrain.AssociateAsync(Caller caller, string name, MetadefAssociation association)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "add_metadef_resource_type_association");
        if (ns.ResourceTypes.Any(a => a.Name == association.Name))
        {
            throw GlanceException.Conflict(
                $"The metadata definition resource-type association of resource-type={association.Name} to namespace={name} already exists.");
        }
        var working = Clone(state.State);
        var now = Now();
        var created = association with { CreatedAt = now, UpdatedAt = now };
        AddResourceType(working, created.Name, now);
        await SaveWithAsync(working, ns, ns with { ResourceTypes = ns.ResourceTypes.Add(created) });
        return created;
    }

    async Task IMetadefsGrain.DissociateAsync(Caller caller, string name, string resourceType)
    {
        var ns = Find(caller, name, Lookup.Other);
        Authorize(caller, "remove_metadef_resource_type_association");
        var existing = ns.ResourceTypes.FirstOrDefault(a => a.Name == resourceType)
            ?? throw GlanceException.NotFound($"Failed to find resource type {resourceType} to delete");
        if (ns.Protected)
        {
            throw GlanceException.Forbidden($"Metadata definition resource-type-association {resourceType} is protected and cannot be deleted.");
        }
        await ReplaceAsync(ns, ns with { ResourceTypes = ns.ResourceTypes.Remove(existing) });
    }
}
