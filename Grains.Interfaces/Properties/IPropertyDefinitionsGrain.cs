using Glance.Grains.Identity;

namespace Glance.Grains.Properties;

/// <summary>
/// The operator-managed catalog of typed property definitions: one grain for the whole
/// service, key 0 (see <see cref="PropertyDefinitionsGrainExtensions.PropertyDefinitions"/>).
/// Anyone may read it; only admins change it. Every write of an additional image property
/// (create or patch, HTTP or direct grain call) is checked against it by the image grain.
/// Rule violations are thrown as <see cref="Errors.GlanceException"/>.
/// <para>
/// It is the metadefs catalog seen another way (the same activation answers
/// <see cref="Metadefs.IMetadefsGrain"/>): each definition is a property of a public metadefs
/// namespace associated with <c>OS::Glance::Image</c>, named with that association's prefix
/// (<c>hw_</c> + <c>cpu_cores</c>). Defining replaces that property, or adds one to the namespace
/// <c>OS::Glance::PropertyDefinitions</c>; removing deletes it.
/// </para>
/// </summary>
[Alias("glance.IPropertyDefinitionsGrain")]
public interface IPropertyDefinitionsGrain : IGrainWithIntegerKey
{
    /// <summary>Every definition, sorted by name (ordinal).</summary>
    [ReadOnly, Alias("list")]
    Task<ImmutableArray<PropertyDefinition>> ListAsync();

    /// <summary>The definition stored under <paramref name="name"/> (exact or prefix); not found otherwise.</summary>
    [ReadOnly, Alias("get")]
    Task<PropertyDefinition> GetAsync(string name);

    /// <summary>
    /// Creates or replaces the definition named <see cref="PropertyDefinition.Name"/>. Admins only
    /// (forbidden otherwise); a definition that is itself invalid (<see cref="PropertyDefinition.Problem"/>:
    /// bad regular expression, minimum above maximum, ...) is a bad request. Existing image
    /// properties are not re-checked: the definition governs later writes.
    /// </summary>
    /// <returns>True when the definition is new, false when it replaced one.</returns>
    [Alias("define")]
    Task<bool> DefineAsync(Caller caller, PropertyDefinition definition);

    /// <summary>Removes the definition named <paramref name="name"/>. Admins only; not found when absent.</summary>
    [Alias("remove")]
    Task RemoveAsync(Caller caller, string name);

    /// <summary>
    /// The whole catalog as an immutable snapshot, so a caller validates any number of values
    /// locally (<see cref="PropertyDefinitionSet.Violation"/>) with one grain call.
    /// </summary>
    [ReadOnly, Alias("validator")]
    Task<PropertyDefinitionSet> ValidatorAsync();
}

/// <summary>Finding the one definitions grain.</summary>
public static class PropertyDefinitionsGrainExtensions
{
    /// <summary>The key of the single catalog grain (the metadefs grain's).</summary>
    public const long CatalogKey = 0;

    /// <summary>The property definitions catalog.</summary>
    public static IPropertyDefinitionsGrain PropertyDefinitions(this IGrainFactory grains) =>
        grains.GetGrain<IPropertyDefinitionsGrain>(CatalogKey);
}
