using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Glance.Grains.Extensions.PropertyProtections;

/// <summary>
/// Glance's property protections (its rules file, roles format) as an extension: on when a rules
/// file is named (<c>Glance:Extensions:property-protections:File</c>, or the older
/// <c>Glance:PropertyProtections:File</c>). Its rules are applied where properties are read and
/// written (image grains, property sets, and catalog shards, which filter list pages), not in a
/// call filter: a filter on the public contract cannot see inside a catalog page.
/// </summary>
public sealed class PropertyProtectionsExtension : GlanceExtension
{
    /// <summary>The older setting, still honoured.</summary>
    public const string LegacySetting = "Glance:PropertyProtections:File";

    public override string Alias => "property-protections";
    public override string Name => "Property protections";
    public override string Description => "Which roles may create, read, update and delete which image properties, from Glance's rules file (roles format).";
    public override DateTimeOffset Updated => new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    public override ExtensionKind Kind => ExtensionKind.Behaviour;

    public override bool EnabledByDefault(ExtensionSettings settings) => RulesFile(settings) is not null;

    public override void AddServices(IServiceCollection services, ExtensionSettings settings)
    {
        // Read now, so a bad rules file stops start-up rather than the first property write.
        var file = RulesFile(settings) ?? throw new InvalidOperationException(
            $"{GlanceExtensions.Section}:{Alias} is enabled but names no rules file ({GlanceExtensions.Section}:{Alias}:File).");
        services.TryAddSingleton(PropertyProtections.Load(file));
    }

    private static string? RulesFile(ExtensionSettings settings) =>
        settings.Section["File"] is { Length: > 0 } file ? file
        : settings.Configuration[LegacySetting] is { Length: > 0 } legacy ? legacy
        : null;
}
