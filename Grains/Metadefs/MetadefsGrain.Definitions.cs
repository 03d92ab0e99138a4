using Glance.Grains.Properties;
using Glance.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Glance.Grains.Metadefs;

/// <summary>
/// The image property definitions catalog, seen from the metadefs: every definition is a
/// property of a public namespace associated with <c>OS::Glance::Image</c> (<see cref="ImageDefinitions"/>).
/// Defining writes that property (or one in <see cref="ImageDefinitions.DefaultNamespace"/>);
/// removing deletes it. Also the seeding and the import of an older release's catalog.
/// </summary>
public sealed partial class MetadefsGrain
{
    // Rebuilt after each write; the image grain asks on every write that sets properties.
    private (PropertyDefinitionSet Set, ImmutableDictionary<string, ImageDefinitions.Source> Sources)? _definitions;

    private (PropertyDefinitionSet Set, ImmutableDictionary<string, ImageDefinitions.Source> Sources) Definitions =>
        _definitions ??= ImageDefinitions.Build(state.State.Namespaces);

    Task<ImmutableArray<PropertyDefinition>> IPropertyDefinitionsGrain.ListAsync() => Task.FromResult(Definitions.Set.Definitions);

    Task<PropertyDefinition> IPropertyDefinitionsGrain.GetAsync(string name) =>
        Task.FromResult(Definitions.Set.Definitions.FirstOrDefault(d => d.Name == name)
            ?? throw GlanceException.NotFound($"No property definition named '{name}'."));

    Task<PropertyDefinitionSet> IPropertyDefinitionsGrain.ValidatorAsync() => Task.FromResult(Definitions.Set);

    async Task<bool> IPropertyDefinitionsGrain.DefineAsync(Caller caller, PropertyDefinition definition)
    {
        EnsureDefinitionsAdmin(caller, "define");
        if (definition.Problem() is { } problem)
        {
            throw GlanceException.BadRequest(problem);
        }
        var working = Clone(state.State);
        var created = Define(working, definition, caller.ProjectId, Now());
        await SaveAsync(working);
        return created;
    }

    async Task IPropertyDefinitionsGrain.RemoveAsync(Caller caller, string name)
    {
        EnsureDefinitionsAdmin(caller, "remove");
        var working = Clone(state.State);
        if (!Remove(working, name))
        {
            throw GlanceException.NotFound($"No property definition named '{name}'.");
        }
        await SaveAsync(working);
    }

    private static void EnsureDefinitionsAdmin(Caller caller, string action)
    {
        if (!caller.IsAdmin)
        {
            throw GlanceException.Forbidden($"You are not authorized to {action} property definitions.");
        }
    }

    /// <summary>
    /// Writes <paramref name="definition"/> where it comes from now (the property that is the
    /// definition of that name), or as a new property of the default namespace (created when
    /// missing). True when the name had no definition.
    /// </summary>
    private static bool Define(MetadefsState working, PropertyDefinition definition, string? owner, DateTimeOffset now)
    {
        if (ImageDefinitions.Build(working.Namespaces).Sources.TryGetValue(definition.Name, out var source))
        {
            var ns = working.Namespaces.First(n => n.Namespace == source.Namespace);
            var existing = ns.Properties.First(p => p.Name == source.Property);
            var replaced = ImageDefinitions.Apply(existing, source.Property, definition);
            Replace(working, ns, ns with { Properties = ns.Properties.Replace(existing, replaced) });
            return false;
        }
        var home = working.Namespaces.Find(n => n.Namespace == ImageDefinitions.DefaultNamespace);
        if (home is null)
        {
            home = new MetadefNamespace
            {
                Namespace = ImageDefinitions.DefaultNamespace,
                DisplayName = "Image property definitions",
                Description = "Image property definitions written through /v2/property-definitions that no other namespace has.",
                Visibility = MetadefVisibility.Public,
                Owner = owner,
                CreatedAt = now,
                UpdatedAt = now,
                Sequence = ++working.LastSequence,
                ResourceTypes = [new MetadefAssociation { Name = ImageDefinitions.ImageResourceType, CreatedAt = now, UpdatedAt = now }],
            };
            working.Namespaces.Add(home);
            AddResourceType(working, ImageDefinitions.ImageResourceType, now);
        }
        else if (!ImageDefinitions.Defines(home, out var prefix) || prefix.Length > 0)
        {
            // An operator made it private, dissociated it or gave it a prefix: a new definition there would not apply.
            throw GlanceException.Conflict(
                $"Namespace {ImageDefinitions.DefaultNamespace} must be public and associated with {ImageDefinitions.ImageResourceType} without a prefix to take new property definitions.");
        }
        var stale = home.Properties.FirstOrDefault(p => p.Name == definition.Name);
        var property = ImageDefinitions.Apply(stale, definition.Name, definition);
        Replace(working, home, home with { Properties = stale is null ? home.Properties.Add(property) : home.Properties.Replace(stale, property) });
        return true;
    }

    /// <summary>Deletes every property that defines <paramref name="name"/> (shadowed ones too, so the name is really gone).</summary>
    private static bool Remove(MetadefsState working, string name)
    {
        var found = false;
        foreach (var ns in working.Namespaces.ToList())
        {
            if (!ImageDefinitions.Defines(ns, out var prefix))
            {
                continue;
            }
            var matching = ns.Properties.Where(p => prefix + p.Name == name).ToList();
            if (matching.Count == 0)
            {
                continue;
            }
            if (ns.Protected)
            {
                throw GlanceException.Forbidden($"Metadata definition property {matching[0].Name} is protected and cannot be deleted.");
            }
            Replace(working, ns, ns with { Properties = ns.Properties.RemoveRange(matching) });
            found = true;
        }
        return found;
    }

    // --- first start ----------------------------------------------------------------------

    /// <summary>
    /// Loads the seeded namespaces not loaded before (all of them on the first start), unless a
    /// namespace of that name exists. True when something was added.
    /// </summary>
    private bool Seed(MetadefsState working, bool first)
    {
        var now = Now();
        var added = false;
        if (first)
        {
            foreach (var type in SeededNamespaces.ResourceTypes)
            {
                working.ResourceTypes.Add(new MetadefResourceType { Name = type, Protected = true, CreatedAt = now });
            }
        }
        foreach (var seed in SeededNamespaces.All)
        {
            if (working.SeededNamespaces.Contains(seed.Namespace))
            {
                continue;
            }
            working.SeededNamespaces.Add(seed.Namespace);
            added = true;
            if (working.Namespaces.Any(n => n.Namespace == seed.Namespace))
            {
                continue;
            }
            var ns = seed with
            {
                CreatedAt = now,
                Sequence = ++working.LastSequence,
                ResourceTypes = [.. seed.ResourceTypes.Select(a => a with { CreatedAt = now })],
                Objects = [.. seed.Objects.Select(o => o with { CreatedAt = now })],
                Tags = [.. seed.Tags.Select(t => t with { CreatedAt = now, Sequence = ++working.LastSequence })],
            };
            foreach (var association in ns.ResourceTypes.Where(a => !working.ResourceTypes.Any(t => t.Name == a.Name)))
            {
                working.ResourceTypes.Add(new MetadefResourceType { Name = association.Name, Protected = true, CreatedAt = now });
            }
            working.Namespaces.Add(ns);
        }
        return added;
    }

    /// <summary>What the catalog grain of releases before metadefs persisted.</summary>
    private sealed class LegacyDefinitionsState
    {
        public List<PropertyDefinition> Definitions { get; set; } = [];
    }

    /// <summary>The names that older releases seeded: one missing from an old catalog was removed by an operator.</summary>
    private static readonly ImmutableArray<string> LegacySeeds =
        ["os_distro", "os_version", "hw_disk_bus", "hw_cpu_cores", "hw_cpu_sockets", "hw_cpu_threads", "hw_video_model", "trait:"];

    /// <summary>
    /// The definitions an older release kept in its own catalog grain (<c>glance.property-definitions</c>,
    /// key 0), carried over once: each is defined again (operators' edits and additions), and a
    /// seeded name the old catalog no longer had is removed again.
    /// </summary>
    private async Task ImportLegacyAsync(MetadefsState working)
    {
        var storage = ServiceProvider.GetKeyedService<IGrainStorage>(GlanceStorage.ProviderName);
        if (storage is null)
        {
            return;
        }
        var legacy = new GrainState<LegacyDefinitionsState>();
        var id = GrainId.Create(GrainType.Create("glance.property-definitions"), GrainIdKeyExtensions.CreateIntegerKey(PropertyDefinitionsGrainExtensions.CatalogKey));
        await storage.ReadStateAsync("property-definitions", id, legacy);
        if (!legacy.RecordExists)
        {
            return;
        }
        var now = Now();
        var definitions = legacy.State?.Definitions ?? [];
        foreach (var name in LegacySeeds.Where(n => !definitions.Any(d => d.Name == n)))
        {
            Remove(working, name);
        }
        foreach (var definition in definitions.Where(d => d.Problem() is null))
        {
            Define(working, definition, owner: null, now);
        }
    }
}
