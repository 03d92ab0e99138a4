using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;

namespace Glance.Grains.Extensions.Quotas;

/// <summary>
/// Per-project quotas with Glance's unified-limits keys (<see cref="QuotaOptions"/>), enforced by
/// <see cref="QuotaFilter"/> for HTTP and direct grain callers alike; on when any limit is set.
/// Usage is answered at <c>GET /v2/info/usage</c> (the Api's part).
/// </summary>
public sealed class QuotasExtension : GlanceExtension
{
    public override string Alias => "quotas";
    public override string Name => "Quotas";
    public override string Description => "Per-project limits (image_size_total, image_stage_total, image_count_total, image_count_uploading) enforced on create, upload and import, exact under concurrency; usage at /v2/info/usage.";
    public override DateTimeOffset Updated => new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    public override ExtensionKind Kind => ExtensionKind.Behaviour;

    public override bool EnabledByDefault(ExtensionSettings settings) => settings.Bind<QuotaOptions>().Any;

    public override void AddServices(IServiceCollection services, ExtensionSettings settings)
    {
        services.AddOptions<QuotaOptions>().Bind(settings.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<QuotaOptions>, QuotaOptionsValidator>();
    }

    public override void AddSiloParts(ISiloBuilder silo, ExtensionSettings settings) =>
        silo.AddIncomingGrainCallFilter<QuotaFilter>();
}
