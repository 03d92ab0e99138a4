using Glance.Grains.Images;
using Glance.Grains.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Glance.Grains.Hosting;

/// <summary>
/// Services that a silo and an API node both need, registered on <see cref="IServiceCollection"/>
/// so that an API node without a silo inside (the azure profile's stateless front end) has them
/// too: the image data store (the API streams bytes to and from it) and the import options (the
/// API answers <c>/v2/info/import</c> from them).
/// </summary>
public static class GlanceServiceCollectionExtensions
{
    /// <summary>The image data store chosen by <c>Glance:ImageData:Store</c> ("file" by default), checked at start-up.</summary>
    public static IServiceCollection AddGlanceImageData(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(s => s.ServiceType == typeof(IImageDataStore)))
        {
            return services; // A co-hosted silo and its API share one container.
        }
        var glance = GlanceOptions.From(configuration);
        var data = configuration.GetSection(ImageDataOptions.Section).Get<ImageDataOptions>() ?? new ImageDataOptions();
        ApplyProfileDefaults(data, glance, configuration);
        services.AddOptions<ImageDataOptions>().Bind(configuration.GetSection(ImageDataOptions.Section))
            .PostConfigure(o => ApplyProfileDefaults(o, glance, configuration))
            .Validate(o => o.Problem() is null, $"Invalid {ImageDataOptions.Section} settings (see ImageDataOptions.Problem)")
            .ValidateOnStart();
        // Built now (no I/O) so a missing or malformed setting stops start-up, not the first upload.
        if (data.Problem() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
        if (data.Store == ImageDataOptions.AzureStore)
        {
            services.AddSingleton<IImageDataStore>(AzureBlobImageDataStore.FromOptions(data));
        }
        else
        {
            var directory = data.Directory ?? Path.Combine(glance.DataDirectory, "images");
            services.AddSingleton<IImageDataStore>(_ => new FileImageDataStore(directory));
        }
        return services;
    }

    // Every node of the azure profile reads and writes the same bytes: Azure Blob storage in the
    // profile's account, unless Glance:ImageData says otherwise.
    private static void ApplyProfileDefaults(ImageDataOptions data, GlanceOptions glance, IConfiguration configuration)
    {
        if (!glance.IsAzure)
        {
            return;
        }
        if (configuration[$"{ImageDataOptions.Section}:Store"] is null)
        {
            data.Store = ImageDataOptions.AzureStore;
        }
        data.AzureConnectionString ??= AzureOptions.From(configuration).ConnectionString;
    }

    /// <summary>Image import's options (<c>Glance:Import</c>), checked at start-up.</summary>
    public static IServiceCollection AddGlanceImportOptions(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(s => s.ServiceType == typeof(ImportOptionsMarker)))
        {
            return services;
        }
        services.AddSingleton<ImportOptionsMarker>();
        services.AddOptions<ImportOptions>()
            .Bind(configuration.GetSection(ImportOptions.Section))
            .Validate(o => o.Problem() is null, $"Invalid {ImportOptions.Section} settings (see ImportOptions.Problem)")
            .ValidateOnStart();
        if ((configuration.GetSection(ImportOptions.Section).Get<ImportOptions>() ?? new ImportOptions()).Problem() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
        services.TryAddSingleton<WebDownloadFilter>();
        services.TryAddSingleton<ImportTransfer>();
        return services;
    }

    /// <summary>Registered once, so that a co-hosted silo and API do not bind the options twice.</summary>
    private sealed class ImportOptionsMarker;
}
