using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;

namespace Glance.Grains.Catalog;

/// <summary>The catalog's layout and options on a silo.</summary>
public static class CatalogHosting
{
    /// <summary>
    /// <c>Glance:Catalog</c> (checked at start-up), the <see cref="CatalogLayout"/> it names, and the
    /// check of that layout against the store's recorded one before the silo joins its cluster.
    /// </summary>
    public static ISiloBuilder AddGlanceCatalog(this ISiloBuilder silo, IConfiguration configuration)
    {
        _ = CatalogOptions.From(configuration); // A malformed setting stops the build of the host, not a later call.
        silo.Services.AddOptions<CatalogOptions>().Bind(configuration.GetSection(CatalogOptions.Section))
            .Validate(o => o.Problem() is null, $"Invalid {CatalogOptions.Section} settings (see CatalogOptions.Problem)")
            .ValidateOnStart();
        silo.Services.AddSingleton(services => services.GetRequiredService<IOptions<CatalogOptions>>().Value.Layout);
        // Before the silo becomes active (joins the cluster and takes calls), so no grain ever runs on another layout.
        silo.AddStartupTask<CatalogLayoutCheck>(ServiceLifecycleStage.ApplicationServices);
        return silo;
    }
}
