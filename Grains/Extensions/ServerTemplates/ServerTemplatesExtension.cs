using Glance.Grains.Templates;
using Orleans.Hosting;

namespace Glance.Grains.Extensions.ServerTemplates;

/// <summary>
/// Server templates (api, on by default): an image plus typed, versioned configuration rendered to
/// cloud-init user data, at <c>/v2/templates</c>. The grains, index and renderer live in
/// <c>Grains/Templates/</c>; this wires their services into the silo (<see cref="TemplateHosting"/>).
/// </summary>
public sealed class ServerTemplatesExtension : GlanceExtension
{
    public override string Alias => "server-templates";
    public override string Name => "Server templates";
    public override string Description => "Templates of an image plus typed, versioned configuration (Heat-style parameters), rendered in a sandbox to cloud-init #cloud-config user data, at /v2/templates.";
    public override DateTimeOffset Updated => new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    public override ExtensionKind Kind => ExtensionKind.Api;

    public override bool EnabledByDefault(ExtensionSettings settings) => true;

    public override void AddSiloParts(ISiloBuilder silo, ExtensionSettings settings) => silo.AddGlanceTemplates(settings.Configuration);
}
